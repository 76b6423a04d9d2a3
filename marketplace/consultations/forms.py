"""Forms of the consultations blueprint (parsing and field-level messages only; rules live in services)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.consultations.availability import CancellationChoice
from marketplace.consultations.booking import NOTE_MAX_LENGTH
from marketplace.consultations.lifecycle import OUTCOME_NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from marketplace.consultations.models import (
    CONFIRM_WITHIN_HOURS_DEFAULT,
    CONFIRM_WITHIN_HOURS_MAX,
    CONFIRM_WITHIN_HOURS_MIN,
    EXTERNAL_CALENDAR_URL_MAX,
    WEEKDAYS,
)
from marketplace.forms import choices, clean_text
from marketplace.scheduling.cancellation import LateRefund
from marketplace.scheduling.weeks import DAY_PARTS, TIME_FILTER_HINTS, TIME_FILTER_LABELS
from marketplace.specialists.forms import MultiCheckboxField

CONSENT_LABEL = "I understand this is not an emergency service"


class MeetingForm(FlaskForm):
    """How to meet, a note, the consent: what a free consultation is booked with (a chosen time,
    ``BookingForm``, or a time the waitlist holds, ``ClaimForm``)."""

    format = RadioField("How would you like to meet?", validators=[DataRequired("Choose how you would like to meet.")])
    note = TextAreaField("What would you like to talk about?", filters=[clean_text],
                         validators=[Optional(), Length(max=NOTE_MAX_LENGTH)],
                         description="Optional. Only you and the specialist can read it.")
    consent = BooleanField(CONSENT_LABEL, validators=[
        DataRequired("Please confirm that you understand this is not an emergency service.")])

    def set_formats(self, formats: list[tuple[str, str]]) -> None:
        """The specialist's formats; the first is preselected (and the only one is implied)."""
        self.format.choices = choices(formats)
        if formats and not self.format.data and (len(formats) == 1 or not self.is_submitted()):
            self.format.data = formats[0][0]


class BookingForm(MeetingForm):
    # Rendered by hand as radio buttons grouped by day (choices change every minute).
    slot = StringField("Time", validators=[DataRequired("Choose a time for your consultation.")])
    src = HiddenField()


class ClaimForm(MeetingForm):
    """Book the time the waitlist holds for the client."""


class WaitlistForm(FlaskForm):
    """Join a specialist's waitlist, optionally only on some days and times of day (the client's zone)."""

    weekdays = MultiCheckboxField("Only on these days (optional)",
                                  choices=choices((str(day), name) for day, name in enumerate(WEEKDAYS)))
    parts = MultiCheckboxField("Only at these times of day (optional)",
                               choices=choices((part, f"{TIME_FILTER_LABELS[part]} ({TIME_FILTER_HINTS[part]})")
                                               for part in DAY_PARTS))


class RescheduleForm(FlaskForm):
    slot = StringField("New time", validators=[DataRequired("Choose a new time.")])


class CancelForm(FlaskForm):
    """Optional for the client; the specialist must give one (the service's rule) — ``for_specialist``."""

    reason = TextAreaField("Reason for cancelling (optional)", filters=[clean_text],
                           validators=[Optional(), Length(max=REASON_MAX_LENGTH)],
                           description="Optional. If you give one, the specialist will see it.")
    # The consequence shown with the form (``Consequence.key``): refused if it changed meanwhile.
    terms = HiddenField()

    def for_specialist(self) -> CancelForm:
        self.reason.label.text = "Reason for cancelling"
        self.reason.description = "Required. The client will see it in their e-mail."
        self.reason.flags.required = True
        return self


CONFIRM_REQUIRED = "Please tick the box to confirm."


class CompleteForm(FlaskForm):
    """Recording a consultation is a required tick box away, never one stray click (no script
    needed); the no-show and outcome forms have theirs too."""

    # Own ids (as below): the complete, no-show and outcome forms share the consultation page.
    confirm = BooleanField("Yes, the consultation took place", id="complete-confirm",
                           validators=[DataRequired(CONFIRM_REQUIRED)])


class OutcomeForm(FlaskForm):
    outcome = RadioField("Outcome", choices=choices([("proceed", "Proceed — we will continue working together"),
                                                      ("not_a_fit", "Not a fit")]),
                         validators=[DataRequired("Choose “proceed” or “not a fit”.")])
    outcome_note = TextAreaField("Note for the client (optional)", filters=[clean_text],
                                 validators=[Optional(), Length(max=OUTCOME_NOTE_MAX_LENGTH)],
                                 description="For example, who might suit them better.")
    confirm = BooleanField("Yes, e-mail this outcome to the client", id="outcome-confirm",
                           validators=[DataRequired(CONFIRM_REQUIRED)],
                           description="You can correct it within 24 hours.")


class NoShowForm(FlaskForm):
    note = TextAreaField("Note for the client (optional)", filters=[clean_text],
                         validators=[Optional(), Length(max=OUTCOME_NOTE_MAX_LENGTH)],
                         description="E-mailed to the client with the no-show, e.g. how to reach you.")
    confirm = BooleanField("Yes, the client did not come — tell them by e-mail", id="no-show-confirm",
                           validators=[DataRequired(CONFIRM_REQUIRED)],
                           description="You can undo it within 24 hours.")


class ReportNoShowForm(FlaskForm):
    """The client reports that the specialist did not come (``no_shows.report_specialist_no_show``)."""

    note = TextAreaField("What happened? (optional)", filters=[clean_text], id="report-note",
                         validators=[Optional(), Length(max=OUTCOME_NOTE_MAX_LENGTH)],
                         description="Only our team reads this.")
    confirm = BooleanField("Yes, the specialist did not come", id="report-no-show-confirm",
                           validators=[DataRequired(CONFIRM_REQUIRED)],
                           description="Our team reviews every report; the specialist is told.")


class VideoLinkForm(FlaskForm):
    """The specialist's video link for one consultation (checked by ``check_meeting_details``)."""

    video_link = URLField("Video link for this consultation", filters=[clean_text], id="consultation-video-link",
                          description="Used instead of the link in your profile, for this consultation only; "
                                      "shown to the client here and in later e-mails and calendar files. "
                                      "Leave empty to use your profile's link.")


class WeeklyHoursForm(FlaskForm):
    """The same hours on one or more weekdays (posted as ``weekday`` once per day)."""

    weekday = MultiCheckboxField("Days", coerce=int, choices=choices(enumerate(WEEKDAYS)),
                                 validators=[DataRequired("Choose at least one day of the week.")])
    start = TimeField("From", validators=[InputRequired("Enter a start time, e.g. 09:00.")])
    end = TimeField("Until", validators=[InputRequired("Enter an end time, e.g. 12:00.")])


class WeeklyRuleEditForm(FlaskForm):
    """New times for one weekly rule (rendered by hand in each rule's row, with ids of its own)."""

    start = TimeField("From", validators=[InputRequired("Enter a start time, e.g. 09:00.")])
    end = TimeField("Until", validators=[InputRequired("Enter an end time, e.g. 12:00.")])


class OverrideForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Choose a date.")])
    kind = RadioField("Type", choices=choices([("off", "Day off"), ("extra", "Extra hours")]), default="off",
                      validators=[DataRequired("Choose “day off” or “extra hours”.")])
    # Own ids: the weekly-hours form on the same page has "start" and "end" fields too.
    start = TimeField("From (extra hours)", id="override-start", validators=[Optional()])
    end = TimeField("Until (extra hours)", id="override-end", validators=[Optional()])


BUFFER_CHOICES = [(0, "No buffer"), (15, "15 minutes"), (30, "30 minutes"), (45, "45 minutes"),
                  (60, "1 hour"), (90, "1½ hours"), (120, "2 hours")]


class SchedulingSettingsForm(FlaskForm):
    buffer_minutes = SelectField("Buffer between consultations", coerce=int, choices=choices(BUFFER_CHOICES),
                                 validators=[InputRequired()])
    min_notice_hours = IntegerField("Minimum notice (hours)", default=12,
                                    validators=[InputRequired("Enter the minimum notice in hours."),
                                                NumberRange(0, 336, "Enter between 0 and 336 hours (14 days).")],
                                    description="Clients cannot book a time sooner than this.")
    horizon_days = IntegerField("Booking horizon (days)", default=30,
                                validators=[InputRequired("Enter how many days ahead clients can book."),
                                            NumberRange(1, 365, "Enter between 1 and 365 days.")],
                                description="How far ahead clients can book.")
    max_per_day = IntegerField("Maximum free consultations per day", validators=[
        Optional(), NumberRange(1, 48, "Enter between 1 and 48, or leave empty for no limit.")],
        description="Leave empty for no limit.")
    auto_confirm = BooleanField("Confirm bookings automatically",
                                description="Otherwise you confirm each request yourself.")
    confirm_within_hours = IntegerField(
        "Time to confirm a request (hours)", default=CONFIRM_WITHIN_HOURS_DEFAULT,
        validators=[InputRequired("Enter how many hours you need to confirm a request."),
                    NumberRange(CONFIRM_WITHIN_HOURS_MIN, CONFIRM_WITHIN_HOURS_MAX,
                                f"Enter between {CONFIRM_WITHIN_HOURS_MIN} and {CONFIRM_WITHIN_HOURS_MAX} hours "
                                "(7 days).")],
        description="A request you have not confirmed within this time — or by your minimum notice before "
                    "its start, if that comes first — expires: the time is freed and the client is told. "
                    "You get a reminder after 12 hours.")
    free_cancel_notice_hours = SelectField(
        "Free consultations: cancellation notice", coerce=int,
        choices=choices([(0, "None: clients can cancel until the start"), (12, "12 hours"), (24, "24 hours")]),
        validators=[Optional()],
        description="A client who cancels later uses up their free consultation with you. "
                    "Applies to new bookings only.")
    paid_cancel_notice_hours = SelectField(
        "Paid sessions: cancellation notice", coerce=int,
        choices=choices([(24, "24 hours"), (48, "48 hours"), (72, "72 hours")]), validators=[Optional()],
        description="Clients who cancel earlier get a full refund. Applies to new bookings only.")
    paid_late_refund = SelectField(
        "Paid sessions: refund for a late cancellation or a missed session", coerce=str,
        choices=choices([(LateRefund.FULL.value, "Full refund"), (LateRefund.HALF.value, "Half refund"),
                         (LateRefund.NONE.value, "No refund")]), validators=[Optional()],
        description="If you cancel, the client always gets a full refund.")
    version_id = HiddenField()

    def cancellation_choice(self) -> CancellationChoice | None:
        """The cancellation terms chosen; None when the form did not send them (a page from before
        they existed): the current terms are kept."""
        free, paid, late = (self.free_cancel_notice_hours.data, self.paid_cancel_notice_hours.data,
                            self.paid_late_refund.data)
        if free is None or paid is None or late not in {choice.value for choice in LateRefund}:
            return None  # (a missing select is None, or "None" through coerce=str)
        return CancellationChoice(free, paid, LateRefund(late))

class ExternalCalendarForm(FlaskForm):
    """Another calendar of the specialist, by its iCal address (checked by the service)."""

    url = URLField("Calendar address (iCal)", filters=[clean_text], id="external-calendar-url",
                   validators=[DataRequired("Enter your calendar's address."),
                               Length(max=EXTERNAL_CALENDAR_URL_MAX,
                                      message=f"This address is too long (at most {EXTERNAL_CALENDAR_URL_MAX} "
                                              "characters).")],
                   description="Google Calendar: Settings → your calendar → “Secret address in iCal format”. "
                               "Apple Calendar or Outlook: share or publish the calendar and copy its link. "
                               "Keep it private: only its server name is shown here.")
