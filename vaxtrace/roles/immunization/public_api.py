"""HTTP routes of the province's public services (issue 13 item 7): sites near a division with
their hours and stock, appointment slots, guardians' logins and bookings (``vg_`` tokens),
and what a site's staff do for them (``vt_`` tokens): publish hours, open slots, keep the day
list, check children in, open guardians' accounts. A guardian's token opens no staff route and
a staff token no guardian's route (each is looked up in its own table)."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from vaxtrace.core.appointments import Booking, Reschedule, SiteHours, SlotOpening
from vaxtrace.core.guardians import AccountOpening, Login, PasswordChange
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service.appointments import MAX_DAYS, Done
from vaxtrace.roles.immunization.service.guardians import GuardianSession, require_own_password
from vaxtrace.web.answers import file_answer
from vaxtrace.web.identity import Staff, app_state, bearer_staff
from vaxtrace.web.lean import bearer_token
from vaxtrace.web.problems import problem_responses

ChildId = Annotated[
    str, Path(pattern=r"^ch-[0-9a-f]{16}$", description="受种者编码: the child's pseudonymous id")
]
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the appointment's id")]

GUARDIAN_401 = "no, unknown or expired guardian token (`unauthenticated`)"
GUARDIAN_403 = (
    "the session's password is still the initial one (`password_change_required`), or the "
    "child is not the guardian's (`not_your_child`; another child or none alike)"
)
STAFF_401 = "no or unknown staff bearer token (a guardian's token is none)"
BOOKING_PROBLEMS = {
    401: GUARDIAN_401,
    403: GUARDIAN_403 + ", or the appointment not of their child (`not_your_appointment`)",
    404: "no such slot (`unknown_slot`) or appointment (`unknown_appointment`)",
    409: "the slot is full (`slot_full`) or has started (`slot_in_past`), the child already "
    "holds a booking for the vaccine (`already_booked`), was merged or moved out, or the "
    "booking was cancelled or checked in (`booking_cancelled`, `illegal_transition`)",
    422: "a field refused (named in `field`), e.g. a slot of another vaccine "
    "(`vaccine_mismatch`); nothing written",
}


def _answer(done: Done, response: Response) -> dict[str, Any]:
    """201 for a write done now, 200 for one answered again."""
    if not done.created:
        response.status_code = 200
    return done.body


CERTIFICATE_PDF: dict[int | str, dict[str, Any]] = {
    200: {"description": "预防接种证 as PDF", "content": {"application/pdf": {}}}
}


def public_router() -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["public services 预约与查询"])

    Service = Annotated[ImmunizationService, Depends(app_state("immunization"))]
    StaffMember = Annotated[Staff, Depends(bearer_staff("immunization"))]

    def any_guardian(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> GuardianSession:
        token = bearer_token(authorization)
        if token is None:
            raise HTTPException(401, "send Authorization: Bearer <guardian token>")
        svc: ImmunizationService = request.app.state.immunization
        who = svc.public.guardian(token)
        if who is None:
            raise HTTPException(401, "unknown or expired guardian token")
        return who

    AnyGuardian = Annotated[GuardianSession, Depends(any_guardian)]

    def own_password(who: AnyGuardian) -> GuardianSession:
        return require_own_password(who)

    Guardian = Annotated[GuardianSession, Depends(own_password)]

    # --- public, no login --------------------------------------------------------------------

    @router.get(
        "/public/sites",
        responses=problem_responses(
            {422: "`division` is not a 6-digit division code (`division_code_format`, …)"}
        ),
    )
    def sites_near(
        svc: Service,
        division: Annotated[str, Query(max_length=6, description="province, city or county")],
    ) -> dict[str, Any]:
        """附近接种点, no login: the vaccination sites in a division (and, for a county, the
        others of its city, ``in_division`` false), each with its address and phone, opening
        hours, ``open_now`` / ``closes_at`` / ``next_open``, and the doses it can give today by
        vaccine (the public stock's figures). No batches, codes or persons."""
        return svc.public.sites_near(division)

    @router.get(
        "/public/slots",
        responses=problem_responses(
            {
                404: "no such organisation (`unknown_organisation`)",
                422: "not a vaccination site, or a vaccine the schedule does not know "
                "(`unknown_vaccine`), or a bad parameter",
            }
        ),
    )
    def slots(
        svc: Service,
        site_uscc: Annotated[str, Query(min_length=18, max_length=18)],
        vaccine: Annotated[
            str | None, Query(max_length=20, description="the schedule's short name, e.g. HepB")
        ] = None,
        first_day: Annotated[date | None, Query(alias="from", description="default today")] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7,
    ) -> dict[str, Any]:
        """号源, no login: a site's appointment slots not started yet, from a day for some
        days, each with ``capacity``, ``booked``, ``remaining`` and ``bookable``."""
        return svc.public.slots(site_uscc, vaccine, first_day, days)

    @router.post(
        "/guardian/sessions",
        status_code=201,
        responses=problem_responses(
            {
                401: "the phone or the password is wrong, or the initial password expired "
                "(`invalid_credentials`)",
                422: "a field refused (named in `field`)",
                429: "too many wrong passwords: locked until `locked_until` (`account_locked`)",
            }
        ),
    )
    def login(item: Login, svc: Service) -> dict[str, Any]:
        """监护人登录: phone and password for a bearer token (``vg_``, until ``expires_at``).
        With the initial password a site printed, ``must_change_password`` is true: the token
        may then only choose the guardian's own password."""
        return svc.public.login(item)

    # --- a guardian (vg_ token) ----------------------------------------------------------------

    @router.delete(
        "/guardian/sessions/current",
        status_code=204,
        responses=problem_responses({401: GUARDIAN_401}),
    )
    def logout(svc: Service, who: AnyGuardian) -> Response:
        """Log out: the token is void from now."""
        svc.public.logout(who)
        return Response(status_code=204)

    @router.post(
        "/guardian/password",
        responses=problem_responses(
            {
                401: GUARDIAN_401 + ", or the current password is wrong (`invalid_credentials`)",
                422: "the new password is too weak (`weak_password`), or a field refused",
            }
        ),
    )
    def change_password(item: PasswordChange, svc: Service, who: AnyGuardian) -> dict[str, Any]:
        """修改密码: the guardian's own password (8 or more characters, letters and digits,
        not the phone); the account's other sessions end."""
        return svc.public.change_password(who, item)

    @router.get(
        "/guardian/children", responses=problem_responses({401: GUARDIAN_401, 403: GUARDIAN_403})
    )
    def my_children(svc: Service, who: Guardian) -> list[dict[str, Any]]:
        """The children whose guardians list your phone, with the site managing each."""
        return svc.public.guardian_children(who)

    @router.get(
        "/guardian/children/{child_id}/record",
        responses=problem_responses({401: GUARDIAN_401, 403: GUARDIAN_403, 422: "not a child id"}),
    )
    def my_child_record(child_id: ChildId, svc: Service, who: Guardian) -> dict[str, Any]:
        """接种记录 of a child of yours, as its site's staff see it: every dose with the
        schedule's evaluation, each series' status and next dose, the school-entry check."""
        return svc.public.guardian_child_record(who, child_id)

    @router.get(
        "/guardian/children/{child_id}/certificate.pdf",
        response_class=Response,
        responses=CERTIFICATE_PDF
        | problem_responses(
            {
                401: GUARDIAN_401,
                403: GUARDIAN_403,
                422: "not a child id",
                503: "no CJK font to render Chinese (`no_pdf_font`)",
            }
        ),
    )
    def my_child_certificate(child_id: ChildId, svc: Service, who: Guardian) -> Response:
        """预防接种证 of a child of yours to print: every dose (vaccine, product, MAH, batch,
        trace code, site, vaccinator, time, valid or not), as its site would print it."""
        content = svc.child_certificate_pdf(svc.public.guardian_child_site(who, child_id), child_id)
        return file_answer(content, "application/pdf", f"certificate-{child_id}.pdf")

    @router.get(
        "/guardian/appointments",
        responses=problem_responses({401: GUARDIAN_401, 403: GUARDIAN_403}),
    )
    def my_appointments(svc: Service, who: Guardian) -> list[dict[str, Any]]:
        """Your children's appointments, latest first, with the site's name."""
        return svc.public.guardian_appointments(who)

    @router.post(
        "/guardian/appointments",
        status_code=201,
        responses=problem_responses(BOOKING_PROBLEMS),
    )
    def book(item: Booking, svc: Service, who: Guardian, response: Response) -> dict[str, Any]:
        """预约: a place in a slot for a child of yours. The same booking again answers
        200 with it."""
        return _answer(svc.public.book(who, item), response)

    @router.post(
        "/guardian/appointments/{appointment_id}/cancellation",
        responses=problem_responses(BOOKING_PROBLEMS),
    )
    def cancel(appointment_id: AppointmentId, svc: Service, who: Guardian) -> dict[str, Any]:
        """取消预约 before the slot starts; the place is free again. Again: the same answer."""
        return svc.public.cancel(who, appointment_id).body

    @router.post(
        "/guardian/appointments/{appointment_id}/reschedule",
        status_code=201,
        responses=problem_responses(BOOKING_PROBLEMS),
    )
    def reschedule(
        appointment_id: AppointmentId,
        item: Reschedule,
        svc: Service,
        who: Guardian,
        response: Response,
    ) -> dict[str, Any]:
        """改约: the booking moves to another slot of its vaccine, or stays as it was (a full
        slot: 409 ``slot_full``). Answers the new appointment (the old one is cancelled,
        ``replaced_by`` it)."""
        return _answer(svc.public.reschedule(who, appointment_id, item), response)

    # --- a site's staff (vt_ token) ------------------------------------------------------------

    staff = {
        401: STAFF_401,
        422: "a field refused (named in `field`), or the token's unit is not a vaccination "
        "site (`wrong_organisation_kind`); nothing written",
    }

    @router.put("/site/hours", responses=problem_responses(staff))
    def set_hours(item: SiteHours, svc: Service, who: StaffMember) -> dict[str, Any]:
        """开放时间 of your site as the public sees it: address, phone, weekly windows (China
        time; Monday 1 … Sunday 7; two windows a day for a lunch break), closed days."""
        return svc.public.set_site_hours(who.org_uscc, item, who.user)

    @router.get("/site/hours", responses=problem_responses({401: STAFF_401}))
    def hours(svc: Service, who: StaffMember) -> dict[str, Any] | None:
        """Your site's published hours (null before any)."""
        return svc.public.site_hours(who.org_uscc)

    @router.post(
        "/slots",
        status_code=201,
        responses=problem_responses(
            staff
            | {
                409: "it has started (`slot_in_past`), or a slot of the vaccine starts then "
                "with another end or capacity (`slot_changed`)",
                422: staff[422] + "; outside the site's hours (`outside_opening_hours`), an "
                "unknown vaccine (`unknown_vaccine`), too far ahead (`out_of_range`)",
            }
        ),
    )
    def open_slot(
        item: SlotOpening, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """号源: open places for a vaccine (the schedule's short name, e.g. ``HepB``) on a day
        from ``start`` to ``end`` (China time) with a ``capacity``. The same opening again
        answers 200 with the slot."""
        return _answer(svc.public.open_slot(who.org_uscc, item, who.user), response)

    @router.get("/appointments", responses=problem_responses(staff))
    def day_list(
        svc: Service,
        who: StaffMember,
        day: Annotated[date | None, Query(description="default today (China)")] = None,
    ) -> dict[str, Any]:
        """当日预约: your site's appointments of a day (booked and attended), by time, with
        each child's name, sex, birth date and card number."""
        return svc.public.day_list(who.org_uscc, day)

    @router.post(
        "/appointments/{appointment_id}/check-in",
        responses=problem_responses(
            staff
            | {
                403: "another site's appointment (`not_your_site`)",
                404: "no such appointment (`unknown_appointment`)",
                409: "the appointment was cancelled (`booking_cancelled`)",
            }
        ),
    )
    def check_in(appointment_id: AppointmentId, svc: Service, who: StaffMember) -> dict[str, Any]:
        """到场签到: the child arrived. Again: answered as it was (idempotent)."""
        return svc.public.check_in(who.org_uscc, appointment_id, who.user).body

    @router.post(
        "/guardian-accounts",
        status_code=201,
        responses=problem_responses(
            staff
            | {
                422: staff[422] + "; no child of your site lists the phone as a guardian's "
                "(`phone_not_a_guardian`)"
            }
        ),
    )
    def open_account(
        item: AccountOpening, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """开通监护人账号 for a guardian's phone of one of your children: answers a one-time
        ``initial_password`` to print for the guardian (shown once; only its hash is kept),
        valid 14 days and only for choosing their own password at first login. For an
        account that exists: a reset (200), its sessions ended and any lockout lifted."""
        done = svc.public.open_guardian_account(who.org_uscc, item, who.user)
        if not done.created:
            response.status_code = 200
        return done.body

    return router
