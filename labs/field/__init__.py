"""The laptop on site: `labs field sync` and the server API it talks to."""
