"""Routes of the due lists and reminders: a site's due list (staff), a guardian's opt-out by
the token of a reminder (no login) and a staff-recorded opt-out. Included before the
immunization router: ``/children/due`` is matched before ``/children/{child_id}``."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.recipients.model import Phone
from vaxtrace.roles.immunization.service import ImmunizationService, due, reminders
from vaxtrace.web.identity import Staff, app_state, bearer_actor, bearer_staff
from vaxtrace.web.problems import problem_responses, staff_problems


class OptOutToken(Model):
    """退订 by a guardian: the token of a reminder they got (its link carries it)."""

    token: str = Field(min_length=16, max_length=100, description="the reminder's opt-out token")


class StaffOptOut(Model):
    """退订 recorded by a site's staff: a guardian of a child the site manages."""

    child_id: str = Field(pattern=r"^ch-[0-9a-f]{16}$", description="受种者编码")
    phone: Phone


ALREADY: dict[int | str, dict[str, Any]] = {
    200: {"description": "already opted out: answered again, nothing written"}
}


def reminders_router() -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["provincial immunization 省级免疫规划"])

    Service = Annotated[ImmunizationService, Depends(app_state("immunization"))]
    Actor = Annotated[str, Depends(bearer_actor("immunization"))]
    StaffMember = Annotated[Staff, Depends(bearer_staff("immunization"))]

    @router.get("/children/due", responses=staff_problems(401, 422))
    def due_list(
        svc: Service,
        who: Actor,
        first: Annotated[
            date | None, Query(alias="from", description="first day (default: this Monday)")
        ] = None,
        last: Annotated[
            date | None, Query(alias="to", description="last day (default: this Sunday)")
        ] = None,
        status: Annotated[
            str | None, Query(pattern="^(due|overdue)$", description="due or overdue only")
        ] = None,
        after: Annotated[
            str | None, Query(max_length=80, description="the `next` of the page before")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=due.MAX_PAGE, description="doses a page")] = due.PAGE,
    ) -> dict[str, Any]:
        """应种/逾期名单: your site's children due or overdue for a dose in a window (default
        this week, Monday to Sunday; at most 366 days): each dose recommended by the window's
        last day and still allowed on its first, with its earliest, recommended, overdue and
        last days, its status (``overdue`` when overdue as the window opens, else ``due``)
        and the child's guardians (name, relation, phone). By recommended date, ``limit``
        doses a page (``next``: give it as ``after`` for the next page; ``total`` and
        ``children``: the whole list's)."""
        return due.due_list(
            svc.engine, who, svc.today(), first, last, status, after=after, limit=limit
        )

    @router.post(
        "/public/reminders/opt-out",
        responses=problem_responses(
            {
                404: "no reminder was sent with this token (`unknown_opt_out_token`)",
                422: "no token, or not one (`malformed_payload`, …)",
            }
        ),
    )
    def opt_out(item: OptOutToken, svc: Service) -> dict[str, Any]:
        """退订接种提醒, no login: the guardian whose reminder carried the token gets no more
        reminders (for any child). Again with the same token: the same answer."""
        return reminders.opt_out_by_token(svc.engine, svc.clock.now(), item.token)

    @router.post(
        "/reminders/opt-outs",
        status_code=201,
        responses=staff_problems(401, 403, 404, 422) | ALREADY,
    )
    def staff_opt_out(
        item: StaffOptOut, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """退订 recorded by your site's staff for a guardian (by phone) of a child your site
        manages (403 ``not_your_child``; 422 ``not_a_guardian`` for another phone). Already
        opted out: 200, nothing written."""
        done = reminders.opt_out_by_staff(
            svc.engine, svc.clock.now(), who.org_uscc, who.user, item.child_id, item.phone
        )
        if done["already"]:
            response.status_code = 200
        return done

    return router
