"""HTTP routes of the school-entry check (入学入托查验) and the printable PDFs of children
(bearer: a CDC's or vaccination site's staff). Each route translates HTTP to one service
call."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile

from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service import school_entry as checks
from vaxtrace.web.answers import file_answer
from vaxtrace.web.identity import Staff, app_state, bearer_actor, bearer_staff
from vaxtrace.web.problems import problem_responses, staff_problems

CheckId = Annotated[
    str, Path(pattern=r"^sec-[0-9a-f]{16}$", description="查验编号: the check's id")
]
ChildId = Annotated[
    str, Path(pattern=r"^ch-[0-9a-f]{16}$", description="受种者编码: the child's pseudonymous id")
]
Level = Annotated[
    str,
    Query(pattern="^(primary|kindergarten)$", description="primary (入学) or kindergarten (入托)"),
]
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(media_type: str, what: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI of a route answering a file, or the staff problems of ``statuses`` (503: no CJK
    font for a PDF)."""
    answered: dict[int | str, dict[str, Any]] = {
        200: {"description": what, "content": {media_type: {}}}
    }
    problems = staff_problems(*[s for s in statuses if s != 503])
    if 503 in statuses:
        problems |= problem_responses({503: "no CJK font to render Chinese (`no_pdf_font`)"})
    return answered | problems


def school_entry_router() -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["school entry 入学入托查验"])

    Service = Annotated[ImmunizationService, Depends(app_state("immunization"))]
    Actor = Annotated[str, Depends(bearer_actor("immunization"))]
    StaffMember = Annotated[Staff, Depends(bearer_staff("immunization"))]

    @router.post(
        "/school-entry/checks", status_code=201, responses=staff_problems(401, 403, 404, 422)
    )
    def check_roster(
        svc: Service,
        who: StaffMember,
        response: Response,
        school_name: Annotated[str, Form(max_length=100, description="学校或托幼机构名称")],
        school_division: Annotated[str, Form(max_length=6, description="学校所在行政区划代码")],
        file: Annotated[UploadFile, File(description="花名册: CSV (UTF-8 or GBK) or XLSX")],
        level: Annotated[
            str, Form(description="primary (入学, doses due by 6 years) or kindergarten (入托)")
        ] = "primary",
    ) -> dict[str, Any]:
        """入学入托查验 of a roster: a header row with 姓名, 性别, 出生日期 (required) and
        监护人电话, 接种证号, 身份证号, 监护人姓名, 班级 (used when present; English names
        too), one child a row, at most 10,000 rows. Each row is matched to a registered
        child of the province (card number or resident id exactly, else name, birth date, sex
        and guardian phone) and judged: complete, incomplete (the missing doses), no_match,
        ambiguous (candidates masked), invalid (a cell named by row and column) or
        duplicate_row. A missing column or too many rows refuses the file (nothing written).
        The same file for the same school again answers 200 with the check made."""
        where = checks.school(school_name, school_division, level)
        done = svc.check_roster(who.org_uscc, where, file.file, who.user, file.filename)
        if not done.created:
            response.status_code = 200
        return done.body

    @router.get("/school-entry/checks/{check_id}", responses=staff_problems(401, 403, 404, 422))
    def school_entry_check(check_id: CheckId, svc: Service, who: Actor) -> dict[str, Any]:
        """A check with its counts and every row's result (yours, or a school's in your CDC's
        area)."""
        return svc.school_entry_check(who, check_id)

    @router.post(
        "/school-entry/checks/{check_id}/recheck", responses=staff_problems(401, 403, 404, 422)
    )
    def recheck_roster(check_id: CheckId, svc: Service, who: StaffMember) -> dict[str, Any]:
        """复查: the same roster judged again against the records as they are now (after
        catch-up doses); by the unit that made the check."""
        return svc.recheck_roster(who.org_uscc, check_id, who.user)

    @router.get(
        "/school-entry/checks/{check_id}/results.csv",
        response_class=Response,
        responses=_file(
            "text/csv", "the results, UTF-8 CSV with Chinese headers", 401, 403, 404, 422
        ),
    )
    def results_csv(check_id: CheckId, svc: Service, who: Actor) -> Response:
        """The results as CSV (Chinese headers, UTF-8 with a BOM for Excel)."""
        rows = svc.school_entry_check(who, check_id)["results"]
        content = checks.results_csv(rows)
        return file_answer(content, "text/csv; charset=utf-8", f"school-entry-{check_id}.csv")

    @router.get(
        "/school-entry/checks/{check_id}/results.xlsx",
        response_class=Response,
        responses=_file(
            XLSX, "the results as an XLSX sheet with Chinese headers", 401, 403, 404, 422
        ),
    )
    def results_xlsx(check_id: CheckId, svc: Service, who: Actor) -> Response:
        """The results as an XLSX sheet (Chinese headers)."""
        rows = svc.school_entry_check(who, check_id)["results"]
        return file_answer(checks.results_xlsx(rows), XLSX, f"school-entry-{check_id}.xlsx")

    @router.get(
        "/school-entry/checks/{check_id}/certificates.pdf",
        response_class=Response,
        responses=_file(
            PDF, "入学入托预防接种证查验证明, one page a child", 401, 403, 404, 422, 503
        ),
    )
    def certificates(check_id: CheckId, svc: Service, who: Actor) -> Response:
        """入学入托预防接种证查验证明 of every complete child of the check, one a page."""
        content = svc.school_entry_pdf(who, check_id)
        return file_answer(content, PDF, f"certificates-{check_id}.pdf")

    @router.get(
        "/school-entry/checks/{check_id}/catch-up.pdf",
        response_class=Response,
        responses=_file(PDF, "补种通知单, one page a child", 401, 403, 404, 422, 503),
    )
    def catch_up(check_id: CheckId, svc: Service, who: Actor) -> Response:
        """补种通知单 of every child of the check with doses missing, one a page."""
        content = svc.school_entry_pdf(who, check_id, catch_up=True)
        return file_answer(content, PDF, f"catch-up-{check_id}.pdf")

    @router.get("/school-entry/summary", responses=staff_problems(401, 404))
    def summary(svc: Service, who: Actor) -> dict[str, Any]:
        """Counts per school (complete, incomplete, no_match, ambiguous, invalid,
        duplicate_row): a site's own checks; a CDC's, every school in its area."""
        return svc.school_entry_summary(who)

    @router.get("/children/{child_id}/school-entry", responses=staff_problems(401, 403, 404, 422))
    def child_school_entry(
        child_id: ChildId, svc: Service, who: Actor, level: Level = "primary"
    ) -> dict[str, Any]:
        """The school-entry check of one child your site manages: complete or not, the
        missing doses (with the earliest day each series' next may be given)."""
        return svc.child_school_entry(who, child_id, level)

    @router.get(
        "/children/{child_id}/certificate.pdf",
        response_class=Response,
        responses=_file(PDF, "预防接种证 (接种记录) as PDF", 401, 403, 404, 422, 503),
    )
    def child_certificate(child_id: ChildId, svc: Service, who: Actor) -> Response:
        """预防接种证: every dose of the child (vaccine, product, MAH, batch, trace code, site,
        vaccinator, time, valid or not), each series' status and the school-entry check."""
        content = svc.child_certificate_pdf(who, child_id)
        return file_answer(content, PDF, f"certificate-{child_id}.pdf")

    return router
