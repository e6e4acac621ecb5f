"""The review web app: routes, access control and page rendering.

Every route needs a logged-in user with the right role (clerk < supervisor < admin),
except the login page. Every form carries the session's CSRF token. Scans are served
from the archive by letter id and page number only, never by a path the browser sends.
Nothing personal is logged: no access log, and our own log lines carry ids, not names.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, sessionmaker

from .. import cases, read, report, routing
from ..classify import LETTER_TYPES, TOPICS
from ..errors import PetitionsError
from ..pipeline import Rules
from ..settings import Settings
from ..store import Case, Correction, Letter, Petitioner, User, open_database
from . import actions, auth

log = logging.getLogger("petitions.review")
COOKIE = "petitions_session"
LOGIN_COOKIE = "petitions_login"
LETTER_ID = re.compile(r"^L-[0-9a-f]{16}$")
CASE_ID = re.compile(r"^C-[0-9a-f]{12,20}$")
PAGE_SIZE = 50
STATUSES = ["in_review", "routed", "resolved"]
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Redirect(Exception):
    def __init__(self, to: str):
        self.to = to


@dataclass
class Ctx:
    user: User
    csrf: str

    def can(self, role: str) -> bool:
        return auth.RANK[self.user.role] >= auth.RANK[role]


def create_app(settings: Settings, sessions: sessionmaker | None = None) -> FastAPI:
    sessions = sessions or open_database(settings.database_url)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    env = Environment(loader=PackageLoader("petitions", "templates"), autoescape=select_autoescape())
    env.filters["pct"] = lambda v: "" if v is None else f"{100 * v:.0f} %"
    env.filters["d"] = lambda v: v.strftime("%d/%m/%Y") if v else ""

    def tables() -> Rules:
        return Rules.current(settings)

    def render(request: Request, name: str, ctx: Ctx | None, status: int = 200, **values) -> HTMLResponse:
        html = env.get_template(f"review/{name}").render(request=request, ctx=ctx, **values)
        return HTMLResponse(html, status_code=status)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        try:
            response = await call_next(request)
        except Exception:
            log.exception("error on %s %s", request.method, request.url.path)
            response = HTMLResponse("Lỗi máy chủ / server error", status_code=500)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(Redirect)
    async def redirect(request: Request, exc: Redirect):
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        ctx = getattr(request.state, "ctx", None)
        messages = {403: "Bạn không có quyền làm việc này / You are not allowed to do this.",
                    404: "Không tìm thấy / Not found.", 429: str(exc.detail)}
        return render(request, "error.html", ctx, status=exc.status_code,
                      message=messages.get(exc.status_code, str(exc.detail)))

    def who(request: Request, role: str) -> Ctx:
        """The logged-in user, if allowed `role`; otherwise to the login page (a GET) or 403."""
        with sessions.begin() as s:
            ws = auth.find_session(s, request.cookies.get(COOKIE))
            ctx = Ctx(ws.user, ws.csrf) if ws else None
        if ctx is None:
            if request.method == "GET":
                raise Redirect("/login?next=" + quote(request.url.path))
            raise HTTPException(403)
        request.state.ctx = ctx
        if not ctx.can(role):
            raise HTTPException(403)
        return ctx

    async def posted(request: Request, role: str) -> tuple[Ctx, dict]:
        ctx = who(request, role)
        form = dict(await request.form())
        if not auth.csrf_ok_token(ctx.csrf, form.get("csrf")):
            raise HTTPException(403)
        return ctx, form

    def letter_or_404(s, lid: str) -> Letter:
        letter = s.get(Letter, lid) if LETTER_ID.match(lid) else None
        if letter is None:
            raise HTTPException(404)
        return letter

    # --- login ----------------------------------------------------------------------

    @app.get("/login")
    def login_page(request: Request, next: str = "/queue"):
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html", None, next=_safe_next(next), token=token, error=None)
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return resp

    @app.post("/login")
    async def login(request: Request):
        form = dict(await request.form())
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))
        nxt = _safe_next(str(form.get("next", "/queue")))
        if not auth.csrf_ok_token(request.cookies.get(LOGIN_COOKIE), form.get("token")):
            raise HTTPException(403)
        window = timedelta(minutes=settings.login_window_minutes)
        with sessions.begin() as s:
            if auth.throttled(s, name, settings.login_max_failures, window):
                log.warning("login throttled")
                raise HTTPException(429, f"Quá nhiều lần đăng nhập sai; hãy thử lại sau {settings.login_window_minutes} phút. / "
                                         f"Too many failed logins; try again in {settings.login_window_minutes} minutes.")
            user = auth.check_login(s, name, password)
            token = auth.open_session(s, user, settings.session_hours) if user else None
        if token is None:
            log.info("login failed")
            token2 = secrets.token_urlsafe(24)
            resp = render(request, "login.html", None, status=401, next=nxt, token=token2,
                          error="Sai tên đăng nhập hoặc mật khẩu / Wrong user name or password.")
            resp.set_cookie(LOGIN_COOKIE, token2, httponly=True, samesite="strict", secure=request.url.scheme == "https")
            return resp
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=int(settings.session_hours * 3600))
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        await posted(request, "clerk")
        with sessions.begin() as s:
            auth.close_session(s, request.cookies.get(COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # --- queue --------------------------------------------------------------------------

    @app.get("/")
    def home(request: Request):
        who(request, "clerk")
        raise Redirect("/queue")

    @app.get("/queue")
    def queue(request: Request, department: str = "", topic: str = "", letter_type: str = "", status: str = "open",
              date_from: str = "", date_to: str = "", q: str = "", page: int = 1):
        ctx = who(request, "clerk")
        page = max(1, page)
        with sessions() as s:
            stmt = select(Letter).join(Petitioner, Letter.petitioner_id == Petitioner.id, isouter=True)
            if status == "open":
                stmt = stmt.where(Letter.status != "resolved")
            elif status in STATUSES:
                stmt = stmt.where(Letter.status == status)
            for col, value in ((Letter.department, department), (Letter.topic, topic), (Letter.letter_type, letter_type)):
                if value:
                    stmt = stmt.where(col == value)
            if (d := _parse_date(date_from)) is not None:
                stmt = stmt.where(Letter.received_on >= d)
            if (d := _parse_date(date_to)) is not None:
                stmt = stmt.where(Letter.received_on <= d)
            if q.strip():
                like = f"%{q.strip()}%"
                digits = re.sub(r"\D", "", q)
                conds = [Petitioner.name.ilike(like), Petitioner.organization.ilike(like), Letter.text.ilike(like), Letter.id == q.strip()]
                if len(digits) >= 6:
                    conds += [Petitioner.id_number.like(f"%{digits}%"), Petitioner.phone.like(f"%{digits}%")]
                stmt = stmt.where(or_(*conds))
            total = s.scalar(select(func.count()).select_from(stmt.subquery()))
            stmt = stmt.options(joinedload(Letter.petitioner)).order_by(
                Letter.needs_review.desc(), Letter.deadline.is_(None), Letter.deadline, Letter.received_on, Letter.id
            ).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
            letters = list(s.scalars(stmt))
        filters = dict(department=department, topic=topic, letter_type=letter_type, status=status,
                       date_from=date_from, date_to=date_to, q=q)
        return render(request, "queue.html", ctx, letters=letters, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                      filters=filters, departments=routing.current(settings).departments, topics=TOPICS,
                      types=LETTER_TYPES, statuses=STATUSES, today=date.today())

    # --- letters -------------------------------------------------------------------------

    @app.get("/letters/{lid}")
    def letter_page(request: Request, lid: str, error: str = ""):
        ctx = who(request, "clerk")
        with sessions() as s:
            letter = letter_or_404(s, lid)
            _ = letter.petitioner, letter.file, letter.case  # loaded before the session closes
            timeline = list(s.scalars(select(Letter).where(Letter.case_id == letter.case_id)
                                      .order_by(Letter.received_on, Letter.created_at))) if letter.case_id else []
            n_corrections = s.scalar(select(func.count()).select_from(Correction).where(Correction.letter_id == lid))
        return render(request, "letter.html", ctx, letter=letter, timeline=timeline, n_corrections=n_corrections,
                      departments=routing.current(settings).departments, topics=TOPICS, types=LETTER_TYPES,
                      today=date.today(), error=error)

    @app.get("/letters/{lid}/pages/{n}")
    def page_image(request: Request, lid: str, n: int):
        who(request, "clerk")
        with sessions() as s:
            letter = letter_or_404(s, lid)
            kind, rel = letter.file.kind, letter.file.archive_path
        if kind == "txt":
            raise HTTPException(404)
        path = (settings.data_dir / rel).resolve()
        if settings.data_dir.resolve() not in path.parents or not path.is_file():
            raise HTTPException(404)
        try:
            image = read.page_image(path, kind, n, settings)
        except (IndexError, PetitionsError):  # no such page, or an archived file that no longer reads
            raise HTTPException(404) from None
        buf = io.BytesIO()
        image.convert("L" if image.mode in ("1", "L") else "RGB").save(buf, format="JPEG", quality=85)
        return Response(buf.getvalue(), media_type="image/jpeg")

    @app.post("/letters/{lid}/correct")
    async def correct(request: Request, lid: str):
        ctx, form = await posted(request, "supervisor")
        changes = {k: form.get(k) for k in (*actions.LETTER_FIELDS, *actions.PETITIONER_FIELDS) if k in form}
        try:
            with sessions.begin() as s:
                letter = letter_or_404(s, lid)
                changed = actions.correct(s, letter, changes, ctx.user.name, tables())
        except actions.ReviewError as e:
            raise Redirect(f"/letters/{lid}?error=" + quote(str(e)))
        log.info("letter %s corrected by user %s: %s", lid, ctx.user.id, ",".join(changed) or "confirmed")
        raise Redirect(_next_in_queue(lid) if form.get("then") == "next" else f"/letters/{lid}")

    @app.post("/letters/{lid}/confirm")
    async def confirm(request: Request, lid: str):
        ctx, form = await posted(request, "supervisor")
        with sessions.begin() as s:
            actions.confirm(s, letter_or_404(s, lid), ctx.user.name)
        log.info("letter %s confirmed by user %s", lid, ctx.user.id)
        raise Redirect(_next_in_queue(lid))

    @app.post("/letters/{lid}/move")
    async def move(request: Request, lid: str):
        ctx, form = await posted(request, "supervisor")
        target = str(form.get("case_id", "")).strip()
        try:
            with sessions.begin() as s:
                letter = letter_or_404(s, lid)
                if target and not CASE_ID.match(target):
                    raise actions.ReviewError(f"{target!r} is not a case id (C-...).")
                actions.move(s, letter, target or None, ctx.user.name, tables())
        except actions.ReviewError as e:
            raise Redirect(f"/letters/{lid}?error=" + quote(str(e)))
        raise Redirect(f"/letters/{lid}")

    @app.get("/letters/{lid}/audit")
    def audit(request: Request, lid: str):
        ctx = who(request, "clerk")
        with sessions() as s:
            letter = letter_or_404(s, lid)
            rows = list(s.scalars(select(Correction).where(Correction.letter_id == lid).order_by(Correction.at, Correction.id)))
        return render(request, "audit.html", ctx, letter=letter, rows=rows)

    def _next_in_queue(after: str) -> str:
        with sessions() as s:
            nxt = s.scalar(select(Letter.id).where(Letter.needs_review.is_(True), Letter.id != after)
                           .order_by(Letter.deadline.is_(None), Letter.deadline, Letter.received_on).limit(1))
        return f"/letters/{nxt}" if nxt else "/queue"

    # --- cases ----------------------------------------------------------------------------

    @app.get("/cases/{cid}")
    def case_page(request: Request, cid: str):
        ctx = who(request, "clerk")
        with sessions() as s:
            case = s.get(Case, cid) if CASE_ID.match(cid) else None
            if case is None:
                raise HTTPException(404)
            letters = list(s.scalars(select(Letter).options(joinedload(Letter.petitioner)).where(Letter.case_id == cid)
                                     .order_by(Letter.received_on, Letter.created_at)))
        return render(request, "case.html", ctx, case=case, letters=letters, today=date.today())

    @app.post("/cases/{cid}/resolve")
    async def resolve(request: Request, cid: str):
        ctx, form = await posted(request, "supervisor")
        on = _parse_date(str(form.get("on", ""))) or date.today()
        with sessions.begin() as s:
            if not CASE_ID.match(cid) or s.get(Case, cid) is None:
                raise HTTPException(404)
            cases.resolve(s, cid, on, str(form.get("note", ""))[:2000], ctx.user.name)
        raise Redirect(f"/cases/{cid}")

    # --- dashboard ---------------------------------------------------------------------------

    @app.get("/dashboard")
    def dashboard(request: Request):
        ctx = who(request, "clerk")
        today = date.today()
        rows = report.letter_rows(sessions, today)
        weekly, depts = report.weekly_by_topic(rows, today), report.by_department(rows)
        return render(request, "dashboard.html", ctx, summary=report.summary(rows, today), columns=report.SUMMARY_COLUMNS,
                      charts=report.charts(weekly, depts), recurrent=report.recurrent_cases(sessions, rows)[:20],
                      overdue=report.overdue_letters(rows, today)[:20])

    # --- administration ------------------------------------------------------------------------

    @app.get("/admin/users")
    def users(request: Request, error: str = ""):
        ctx = who(request, "admin")
        with sessions() as s:
            rows = list(s.scalars(select(User).order_by(User.name)))
        return render(request, "users.html", ctx, users=rows, roles=auth.ROLES, error=error)

    @app.post("/admin/users")
    async def add_user(request: Request):
        ctx, form = await posted(request, "admin")
        try:
            with sessions.begin() as s:
                auth.add_user(s, str(form.get("name", "")).strip(), str(form.get("role", "")), str(form.get("password", "")))
        except auth.AccountError as e:
            raise Redirect("/admin/users?error=" + quote(str(e)))
        raise Redirect("/admin/users")

    @app.post("/admin/users/{uid}/disable")
    async def disable_user(request: Request, uid: int):
        ctx, form = await posted(request, "admin")
        with sessions.begin() as s:
            user = s.get(User, uid)
            if user is None:
                raise HTTPException(404)
            if user.id != ctx.user.id:  # an admin cannot lock themselves out
                user.active = False
        raise Redirect("/admin/users")

    @app.get("/admin/routing")
    def routing_page(request: Request, error: str = "", saved: str = ""):
        ctx = who(request, "admin")
        table = routing.current(settings)
        return render(request, "routing.html", ctx, source=table.source.read_text(encoding="utf-8"),
                      path=settings.routing_path or settings.data_dir / "routing.toml", error=error, saved=saved)

    @app.post("/admin/routing")
    async def save_routing(request: Request):
        ctx, form = await posted(request, "admin")
        body = str(form.get("table", "")).replace("\r\n", "\n")
        target = Path(settings.routing_path or settings.data_dir / "routing.toml")
        tmp = target.with_name(target.name + ".new")
        tmp.write_text(body, encoding="utf-8")
        try:
            tomllib.loads(body)
            routing.load(tmp)  # the whole table is checked before it replaces the old one
        except (tomllib.TOMLDecodeError, routing.RoutingError) as e:
            tmp.unlink()
            raise Redirect("/admin/routing?error=" + quote(str(e).replace(str(tmp), "routing.toml")))
        if target.exists():
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            target.replace(target.with_name(f"routing-{stamp}-before-{ctx.user.name}.toml"))
        tmp.replace(target)
        log.info("routing table replaced by user %s", ctx.user.id)
        raise Redirect("/admin/routing?saved=1")

    return app


def _safe_next(nxt: str) -> str:
    """Only a path of this site: never an address elsewhere."""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/queue"


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    app = create_app(settings)
    print(f"Review app on http://{host}:{port}/ (Ctrl+C to stop)")
    # No access log: request lines would carry search words (names, ID numbers).
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", server_header=False)
