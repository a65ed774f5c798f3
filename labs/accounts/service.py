"""Account use cases: create users and enterprises; sign in (throttled, audited) to a session or a
bearer token, and end either; change one's password; (administrators) deactivate, reactivate and
reset users, and read the users and the audit log; read one's notifications.

Every use case takes the acting user. The trusted operator (the command line, scheduled jobs) acts
as SYSTEM, never as None: None is an anonymous caller and is refused."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload
from stdnum.cn import uscc

from labs import audit
from labs.accounts.domain import PER_ACCOUNT, PER_ADDRESS, Backoff
from labs.accounts.models import ROLE_NAMES, ROLES, ApiToken, Enterprise, SignInFailure, User, UserSession
from labs.audit import AuditEntry
from labs.db import utcnow
from labs.errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts, Unauthorized
from labs.i18n import N_
from labs.notify import Notification, notifications_for

_hasher = PasswordHasher()  # argon2id, memory-hard
TOKEN_LIFETIME = dt.timedelta(days=30)
SESSION_LIFETIME = dt.timedelta(days=7)  # a copied cookie works at most this long, or until logout
LAST_USE_PRECISION = dt.timedelta(minutes=1)  # a token's last use is written at most once a minute
MIN_PASSWORD = 8
TOO_SHORT = N_("at least %(n)s characters")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# GB 32100: registration authority (1), entity kind (1), administrative division (6 digits),
# organisation code (9), check character (1), from the alphabet without I, O, S, V, Z.
CREDIT_CODE_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
CREDIT_CODE_PROBLEMS = {
    "length": N_("The number has an invalid length."),
    "format": N_("The number has an invalid format."),
    "check": N_("The number's checksum or check digit is invalid."),
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
        raise Invalid(N_("invalid unified social credit code"),
                      {field: [N_("%(code)s is not a valid unified social credit code: %(problem)s")]},
                      code="invalid_credit_code", params={"code": code[:40], "problem": CREDIT_CODE_PROBLEMS[problem]})
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
        raise Unauthorized(N_("log in or send a bearer token"), code="not_signed_in")
    if actor.role not in roles:
        raise Forbidden(N_("a %(role)s may not do this (it needs: %(roles)s)"), code="forbidden_role",
                        params={"role": ROLE_NAMES[actor.role], "roles": [ROLE_NAMES[role] for role in roles]})
    return actor


def new_calendar_token() -> str:
    """The secret in a calendar feed's address: 192 random bits."""
    return secrets.token_urlsafe(24)


def get_or_create_enterprise(session: Session, credit_code: str, name: str | None) -> Enterprise:
    code = validate_credit_code(credit_code)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if enterprise is None:
        if not name:
            raise Invalid(N_("a new enterprise needs a name"), {"enterprise_name": [N_("required for a new enterprise")]},
                          code="enterprise_name_required")
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
    if not EMAIL_RE.fullmatch(email):
        errors["email"] = [N_("not an e-mail address")]
    if role not in ROLES:
        errors["role"] = [N_("must be one of %(choices)s") % {"choices": ", ".join(ROLES)}]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [TOO_SHORT % {"n": MIN_PASSWORD}]
    if role == "enterprise" and not enterprise_code:
        errors["enterprise_code"] = [N_("an enterprise user needs the enterprise's credit code")]
    if role != "enterprise" and enterprise_code:
        errors["enterprise_code"] = [N_("only enterprise users belong to an enterprise")]
    if role == "enterprise" and enterprise_code:
        try:
            validate_credit_code(enterprise_code, "enterprise_code")
        except Invalid as exc:
            errors["enterprise_code"] = [text % exc.params for text in exc.field_messages["enterprise_code"]]
    if errors:
        raise Invalid(N_("invalid user"), errors, code="invalid_user")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(N_("a user with e-mail %(email)s exists"), code="email_taken", params={"email": email})
    enterprise = get_or_create_enterprise(session, enterprise_code, enterprise_name) if enterprise_code else None
    user = User(email=email, name=name or email, password_hash=_hasher.hash(password), role=role,
                enterprise=enterprise)
    session.add(user)
    session.flush()
    audit.record(session, actor.id, "user.create", "user", user.id, None,
                 {"email": email, "role": role, "enterprise_id": user.enterprise_id})
    return user


@cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made with the current parameters: an unknown e-mail address is
    checked against it, so it costs the same time as a known one and does not tell which exist."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _throttle(session: Session, email: str, address: str, now: dt.datetime) -> None:
    """Refuse, before any hashing, a sign-in that comes too soon after failures for this e-mail
    address or from this client address."""
    waits = []
    for rule, column, key in ((PER_ACCOUNT, SignInFailure.email, email), (PER_ADDRESS, SignInFailure.address, address)):
        count, latest = session.execute(select(func.count(), func.max(SignInFailure.at))
                                        .where(column == key, SignInFailure.at > now - rule.window)).one()
        if latest is not None and latest.tzinfo is None:  # SQLite's MAX() comes back as naive UTC
            latest = latest.replace(tzinfo=dt.timezone.utc)
        waits.append(rule.retry_after(count, latest, now))
    if max(waits) > 0:
        raise TooManyAttempts(N_("too many failed sign-ins; try again later"), retry_after=max(waits),
                              code="too_many_attempts")


def sign_in(session: Session, email: str, password: str, address: str, via: str) -> User:
    """Check e-mail and password for a sign-in `via` the login page or the token endpoint. Throttled
    (TooManyAttempts) after failures for this e-mail address or from this client address; every
    checked attempt goes to the audit log. The caller commits, failures too.

    The attempt is counted as a failure and committed before the password is hashed, and the hash
    runs outside any transaction: concurrent attempts (other workers, other hosts) see each other at
    once instead of after their hashes, and on SQLite no write lock is held while hashing. A
    success takes the count away again."""
    email = email.strip().lower()[:254]
    address = address[:64]
    _throttle(session, email, address, utcnow())
    attempt = SignInFailure(at=utcnow(), email=email, address=address)
    session.add(attempt)
    user = session.scalar(select(User).where(User.email == email))
    session.commit()
    matches = _password_matches(user.password_hash if user else _dummy_hash(), password)
    if user is None or not matches or not user.active:
        reason = "unknown account" if user is None else "wrong password" if not matches else "inactive account"
        attempt.at = utcnow()  # the wait runs from the answer, not from a slow hash's start
        audit.record(session, None, "user.sign_in_failed", "user", user.id if user else 0, None,
                     {"email": email, "address": address, "via": via, "reason": reason})
        raise Unauthorized(N_("wrong e-mail or password"), code="wrong_credentials")
    # Success clears this account's count (the client address keeps the failures for others).
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    audit.record(session, user.id, "user.sign_in", "user", user.id, None, {"address": address, "via": via})
    return user


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """A new bearer token for `user`, valid for TOKEN_LIFETIME; the secret is shown only this once."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_sha256(token), expires_at=utcnow() + TOKEN_LIFETIME))
    return token


def token_row(session: Session, token: str, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token row for a bearer secret (its user active), noting its use; None if unknown,
    expired or revoked."""
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(token)))
    if row is None or row.expires_at <= now or not row.user.active:
        return None
    if row.last_used_at is None or row.last_used_at < now - LAST_USE_PRECISION:
        row.last_used_at = now
    return row


def user_for_token(session: Session, token: str) -> User | None:
    row = token_row(session, token)
    return row.user if row else None


def list_tokens(session: Session, actor: Actor | None) -> list[ApiToken]:
    """The caller's own live tokens, newest first (never their secrets: only hashes are kept)."""
    actor = signed_in(actor)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id, ApiToken.expires_at > utcnow())
                                .order_by(ApiToken.id.desc())))


def revoke_token(session: Session, actor: Actor | None, token_id: int) -> None:
    """End one of the caller's own tokens; another user's token is not found."""
    actor = signed_in(actor)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(N_("you have no token %(id)s"), code="no_token", params={"id": token_id})
    session.delete(row)
    audit.record(session, actor.id, "token.revoke", "api_token", token_id, None, None)


def open_session(session: Session, user: User) -> str:
    """A new signed-in browser session for `user`: the secret its cookie carries."""
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, secret_sha256=_sha256(secret), created_at=utcnow(),
                            expires_at=utcnow() + SESSION_LIFETIME))
    return secret


def user_for_session(session: Session, secret: str) -> User | None:
    row = session.scalar(select(UserSession).where(UserSession.secret_sha256 == _sha256(secret)))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user


def end_session(session: Session, secret: str) -> None:
    """Log out: the session ends, in this browser and wherever its cookie was copied."""
    session.execute(delete(UserSession).where(UserSession.secret_sha256 == _sha256(secret)))


def _end_sign_ins(session: Session, user_id: int, keep_session: str | None = None,
                  keep_token_id: int | None = None) -> None:
    """End the user's sessions and tokens, but for the one the caller is using."""
    sessions = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_session is not None:
        sessions = sessions.where(UserSession.secret_sha256 != _sha256(keep_session))
    tokens = delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep_token_id is not None:
        tokens = tokens.where(ApiToken.id != keep_token_id)
    session.execute(sessions)
    session.execute(tokens)


def _check_new_password(password: str, field: str = "new_password") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(N_("invalid password"), {field: [TOO_SHORT]}, code="password_too_short",
                      params={"n": MIN_PASSWORD})


def change_password(session: Session, actor: Actor | None, current_password: str, new_password: str,
                    address: str, keep_session: str | None = None, keep_token_id: int | None = None) -> User:
    """The caller changes their own password, giving the current one (checked and throttled as a
    sign-in is). Every other session and token of theirs ends; the one in use goes on."""
    actor = signed_in(actor)
    if not isinstance(actor, User):
        raise Forbidden(N_("only a user has a password"), code="no_password")
    _throttle(session, actor.email, address, utcnow())
    if not _password_matches(actor.password_hash, current_password):
        session.add(SignInFailure(at=utcnow(), email=actor.email, address=address[:64]))
        audit.record(session, actor.id, "user.password_change_failed", "user", actor.id, None, {"address": address})
        raise Invalid(N_("the current password is wrong"), {"current_password": [N_("wrong password")]},
                      code="wrong_password")
    _check_new_password(new_password)
    if _password_matches(actor.password_hash, new_password):
        raise Invalid(N_("the new password is the current one"), {"new_password": [N_("choose a different password")]},
                      code="same_password")
    actor.password_hash = _hasher.hash(new_password)
    actor.must_change_password = False
    _end_sign_ins(session, actor.id, keep_session, keep_token_id)
    audit.record(session, actor.id, "user.password_change", "user", actor.id, None, {"address": address})
    return actor


def _target(session: Session, actor: Actor | None, user_id: int) -> User:
    require_role(actor, "admin")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("no user %(id)s"), code="no_user", params={"id": user_id})
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(N_("no user with e-mail %(email)s"), code="no_user", params={"email": email.strip().lower()[:254]})
    return user


def deactivate_user(session: Session, actor: Actor | None, user_id: int) -> User:
    """An administrator ends a user's access: no sign-in, and every session and token ends now."""
    user = _target(session, actor, user_id)
    if user.id == actor.id:
        raise Conflict(N_("you cannot deactivate yourself"), code="own_account")
    before = audit.snapshot(user, ("active",))
    user.active = False
    _end_sign_ins(session, user.id)
    audit.record(session, actor.id, "user.deactivate", "user", user.id, before, {"active": False})
    return user


def reactivate_user(session: Session, actor: Actor | None, user_id: int) -> User:
    user = _target(session, actor, user_id)
    before = audit.snapshot(user, ("active",))
    user.active = True
    audit.record(session, actor.id, "user.reactivate", "user", user.id, before, {"active": True})
    return user


def reset_password(session: Session, actor: Actor | None, user_id: int,
                   one_time_password: str | None = None) -> tuple[User, str]:
    """An administrator gives a user a one-time password (made here unless given): every session and
    token of the user ends, and at the next sign-in they must choose a new password."""
    user = _target(session, actor, user_id)
    one_time_password = one_time_password or secrets.token_urlsafe(12)
    _check_new_password(one_time_password, "password")
    user.password_hash = _hasher.hash(one_time_password)
    user.must_change_password = True
    _end_sign_ins(session, user.id)
    session.execute(delete(SignInFailure).where(SignInFailure.email == user.email))  # a fresh start
    audit.record(session, actor.id, "user.password_reset", "user", user.id, None, {"must_change_password": True})
    return user, one_time_password


def purge_sign_in_records(session: Session, now: dt.datetime | None = None) -> None:
    """Delete expired tokens and sessions, and failures too old for any throttle to count."""
    now = now or utcnow()
    oldest: Backoff = max(PER_ACCOUNT, PER_ADDRESS, key=lambda rule: rule.window)
    session.execute(delete(ApiToken).where(ApiToken.expires_at <= now))
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - oldest.window))


def signed_in(actor: Actor | None) -> Actor:
    """The caller, who must be signed in (any role)."""
    return require_role(actor, *ROLES)


def choose_language(session: Session, actor: Actor | None, locale: str) -> User:
    """The language the user reads the pages in (a key of labs.i18n.LANGUAGES), kept on their
    account so it follows them to another browser. A preference, not a state change to audit."""
    user = signed_in(actor)
    user.locale = locale
    return user


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
