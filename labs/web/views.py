from flask import Blueprint

blp = Blueprint("web", __name__, template_folder="templates")


@blp.get("/")
def index():
    return "labs"
