"""Account use cases: create users and enterprises, log in, issue and check bearer tokens, read one's
notifications and (administrators) the users and the audit log.

Every use case takes the acting user. The trusted operator (the command line, scheduled jobs) acts
as SYSTEM, never as None: None is an anonymous caller and is refused."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from stdnum.cn import uscc

from labs import audit
from labs.accounts.models import ROLES, ApiToken, Enterprise, User
from labs.audit import AuditEntry
from labs.db import utcnow
from labs.errors import Conflict, Forbidden, Invalid, Unauthorized
from labs.notify import Notification, notifications_for

_hasher = PasswordHasher()  # argon2id, memory-hard
TOKEN_LIFETIME = dt.timedelta(days=30)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# GB 32100: registration authority (1), entity kind (1), administrative division (6 digits),
# organisation code (9), check character (1), from the alphabet without I, O, S, V, Z.
CREDIT_CODE_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
CREDIT_CODE_PROBLEMS = {
    "length": "The number has an invalid length.",
    "format": "The number has an invalid format.",
    "check": "The number's checksum or check digit is invalid.",
}


def credit_code_problem(code: str) -> str | None:
    """What is wrong with a compact unified social credit code: "length", "format", "check" (its
    check character), or None. The first two characters may be letters (N: a village collective
    registered by an agriculture department; Y, A): python-stdnum's `uscc.validate` wrongly requires
    the first eight to be digits, so only its check-character computation is used."""
    if len(code) != 18:
        return "length"
    if not CREDIT_CODE_RE.fullmatch(code):
        return "format"
    if uscc.calc_check_digit(code[:17]) != code[17]:
        return "check"
    return None


def validate_credit_code(code: str, field: str = "credit_code") -> str:
    """The unified social credit code (GB 32100) with its check character, normalised; `field` is
    the name the caller gave the code, so the error points at what the caller sent."""
    compact = uscc.compact(code)
    problem = credit_code_problem(compact)
    if problem is not None:
        raise Invalid("invalid unified social credit code",
                      {field: [f"{code!r} is not a valid unified social credit code: {CREDIT_CODE_PROBLEMS[problem]}"]})
    return compact


@dataclass(frozen=True)
class SystemActor:
    """The trusted operator: `labs user create`, the demo data, scheduled jobs. It has an
    administrator's rights and no user row, so the audit log records it with no user id."""

    id: None = None
    role: str = "admin"
    name: str = "system"
    enterprise_id: None = None


SYSTEM = SystemActor()
# Who a use case acts for: a signed-in user, SYSTEM, or None for an anonymous caller (refused).
Actor = User | SystemActor


def require_role(actor: Actor | None, *roles: str) -> Actor:
    if actor is None:
        raise Unauthorized("log in or send a bearer token")
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role!r} may not do this (needs one of: {', '.join(roles)})")
    return actor


def new_calendar_token() -> str:
    """The secret in a calendar feed's address: 192 random bits."""
    return secrets.token_urlsafe(24)


def get_or_create_enterprise(session: Session, credit_code: str, name: str | None) -> Enterprise:
    code = validate_credit_code(credit_code)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if enterprise is None:
        if not name:
            raise Invalid("a new enterprise needs a name", {"enterprise_name": ["required for a new enterprise"]})
        enterprise = Enterprise(credit_code=code, name=name, calendar_token=new_calendar_token())
        session.add(enterprise)
        session.flush()
    return enterprise


def create_user(session: Session, actor: Actor | None, email: str, password: str, role: str,
                name: str = "", enterprise_code: str | None = None,
                enterprise_name: str | None = None) -> User:
    """Create a user, as an administrator or SYSTEM (the command line)."""
    actor = require_role(actor, "admin")
    errors: dict[str, list[str]] = {}
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        errors["email"] = ["not an e-mail address"]
    if role not in ROLES:
        errors["role"] = [f"must be one of {', '.join(ROLES)}"]
    if len(password) < 8:
        errors["password"] = ["at least 8 characters"]
    if role == "enterprise" and not enterprise_code:
        errors["enterprise_code"] = ["an enterprise user needs the enterprise's credit code"]
    if role != "enterprise" and enterprise_code:
        errors["enterprise_code"] = ["only enterprise users belong to an enterprise"]
    if role == "enterprise" and enterprise_code:
        try:
            validate_credit_code(enterprise_code, "enterprise_code")
        except Invalid as exc:
            errors.update(exc.extra["errors"])
    if errors:
        raise Invalid("invalid user", errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists")
    enterprise = get_or_create_enterprise(session, enterprise_code, enterprise_name) if enterprise_code else None
    user = User(email=email, name=name or email, password_hash=_hasher.hash(password), role=role,
                enterprise=enterprise)
    session.add(user)
    session.flush()
    audit.record(session, actor.id, "user.create", "user", user.id, None,
                 {"email": email, "role": role, "enterprise_id": user.enterprise_id})
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        if user is None or not user.active or not _hasher.verify(user.password_hash, password):
            raise Unauthorized("wrong e-mail or password")
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong e-mail or password") from None
    return user


def issue_token(session: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                         expires_at=utcnow() + TOKEN_LIFETIME))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(
        ApiToken.token_sha256 == hashlib.sha256(token.encode()).hexdigest()))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user


def signed_in(actor: Actor | None) -> Actor:
    """The caller, who must be signed in (any role)."""
    return require_role(actor, *ROLES)


def list_users(session: Session, actor: Actor | None, limit: int | None = None, offset: int = 0) -> list[User]:
    require_role(actor, "admin")
    return list(session.scalars(select(User).options(selectinload(User.enterprise)).order_by(User.id)
                                .limit(limit).offset(offset)))


def notifications(session: Session, actor: Actor | None, limit: int = 100, offset: int = 0) -> list[Notification]:
    """The caller's own notifications, newest first."""
    return notifications_for(session, signed_in(actor), limit, offset)


def audit_log(session: Session, actor: Actor | None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """The audit log, newest first (administrators)."""
    require_role(actor, "admin")
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))
