"""Forms of the specialists domain: the profile editor, the directory filters, licence rejection."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in the stubs
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, html_params

from marketplace.forms import ZoneSelectField, clean_text
from marketplace.money import currency_choices
from marketplace.scheduling.free_times import FREE_TIMES_DAYS
from marketplace.scheduling.weeks import TIME_FILTER_HINTS, TIME_FILTER_LABELS, TIME_FILTERS, TimeFilter
from marketplace.specialists.directory import SORTS
from marketplace.specialists.hooks import KEEP_CLOCK, KEEP_MOMENTS
from marketplace.specialists.services import ProfileInput, fee_in_major_units
from marketplace.specialists.vocabulary import (
    APPROACHES,
    FORMATS,
    LANGUAGES,
    SPECIALTIES,
    countries,
)


def choices(pairs: Any, blank: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices, optionally after a blank "any"/"choose" option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in pairs]


class StaticOptionsSelect:
    """A ``<select>`` for fixed choice lists, rendered once per process: only the selected option
    differs per request. (The directory's country list has 249 options; rendering them through
    WTForms' per-option widgets was the largest cost of a directory page.)"""

    def __init__(self) -> None:
        self._options: str | None = None

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        if self._options is None:
            self._options = "".join(f'<option value="{escape(choice.value)}">{escape(choice.label)}</option>'
                                    for choice in field.choices)
        options = self._options
        if field.data:
            chosen = f'value="{escape(field.data)}">'
            options = options.replace(f"<option {chosen}", f"<option selected {chosen}", 1)
        # Every piece is escaped (options above, attributes by html_params).
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704


class OptionsSelect(StaticOptionsSelect):
    """A ``<select>`` whose choices differ between pages (rendered each time; same markup)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        self._options = None
        return super().__call__(field, **kwargs)


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multi-choice vocabulary (rendered as a fieldset by macros/forms.html)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProfileForm(FlaskForm):
    display_name = StringField("Name shown to clients", filters=[clean_text],
                               validators=[DataRequired(), Length(max=80)])
    title = StringField("Professional title", filters=[clean_text], validators=[Length(max=120)],
                        description='For example "Clinical psychologist" or "Psychotherapist".')
    photo = FileField("Photo", render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif"},
                      description="A friendly head-and-shoulders photo. JPEG, PNG, WebP or GIF, up to 5 MB. "
                      "We resize it and remove hidden data such as location.")
    remove_photo = BooleanField("Remove my current photo")
    bio_markdown = TextAreaField("About you", filters=[clean_text], validators=[Length(max=10_000)],
                                 description="Who you work with and how. You can use Markdown: **bold**, *italic*, "
                                             "lists and links.")
    years_of_practice = IntegerField("Years of practice", validators=[Optional(), NumberRange(0, 70)])

    licence_type = StringField("Licence type", filters=[clean_text], validators=[Length(max=120)],
                               description='For example "Licensed psychological psychotherapist".')
    licence_number = StringField("Licence number", filters=[clean_text], validators=[Length(max=60)])
    licence_jurisdiction = StringField("Issued in (jurisdiction)", filters=[clean_text],
                                       validators=[Length(max=120)], description='For example "Berlin, Germany".')

    specialties = MultiCheckboxField("Specialties", choices=choices(SPECIALTIES))
    approaches = MultiCheckboxField("Therapeutic approaches", choices=choices(APPROACHES))
    languages = MultiCheckboxField("Languages you offer sessions in", choices=choices(LANGUAGES))
    formats = MultiCheckboxField("Session formats", choices=choices(FORMATS))

    city = StringField("City", filters=[clean_text], validators=[Length(max=80)])
    country = SelectField("Country", choices=choices(countries(), "Choose a country"), validate_choice=True)
    timezone = ZoneSelectField("Time zone", description="Your availability is set in this zone; clients see times in theirs.")

    fee = DecimalField("Session fee", places=None, validators=[Optional(), NumberRange(0, 100_000)],
                       description="For a regular paid session, in the currency below.")
    currency = SelectField("Currency", choices=choices(currency_choices()))
    session_minutes = IntegerField("Session length (minutes)", default=50,
                                   validators=[DataRequired(), NumberRange(15, 240)])
    offers_free_consultation = BooleanField("I offer a free 30-minute initial consultation", default=True,
                                            description="Specialists who offer it are featured in our campaign.")
    accepting_new_clients = BooleanField("I am accepting new clients", default=True)

    # Meeting details: validated by the one rule, ``services.check_meeting_details`` (this editor is
    # the one place they are edited; the availability page links here).
    video_link = URLField("Video meeting link", filters=[clean_text],
                          description="A full link starting with https://. Only shared with clients who booked "
                                      "a video consultation or session with you.")
    address = StringField("Practice address", filters=[clean_text],
                          description="Only shared with clients who booked an in-person session.")
    phone = TelField("Phone number", filters=[clean_text],
                     description="A number clients can call, e.g. +49 30 1234567. Only shared with clients who "
                                 "booked a phone session.")
    zone_hours = RadioField("If you change your time zone, your weekly hours should…", choices=choices([
        (KEEP_CLOCK, "Keep the same local clock times (09:00 stays 09:00 in the new zone)"),
        (KEEP_MOMENTS, "Keep the same moments (hours move with the clock difference)")]),
        validators=[Optional()], validate_choice=False)
    version = HiddenField()

    @classmethod
    def for_profile(cls, profile: Any) -> ProfileForm:
        """The editor, prefilled from ``profile`` (a submitted form keeps what was submitted)."""
        data = {name: getattr(profile, name) for name in (
            "display_name", "title", "bio_markdown", "years_of_practice", "licence_type", "licence_number",
            "licence_jurisdiction", "city", "country", "timezone", "currency", "session_minutes",
            "offers_free_consultation", "accepting_new_clients", "video_link", "address", "phone")}
        data.update(
            specialties=[v.slug for v in profile.specialties],
            approaches=[v.slug for v in profile.approaches],
            languages=[v.slug for v in profile.languages],
            formats=[v.slug for v in profile.formats],
            fee=fee_in_major_units(profile),
            version=str(profile.version_id),
        )
        data["country"] = profile.country or ""
        return cls(data=data)

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data or "")
        except ValueError:
            return None

    def uploaded_photo(self) -> Any:
        """The uploaded file's stream, or None when no file was chosen."""
        upload = self.photo.data
        return upload.stream if upload and getattr(upload, "filename", "") else None

    def to_input(self) -> ProfileInput:
        return ProfileInput(
            display_name=self.display_name.data or "",
            title=self.title.data or "",
            licence_type=self.licence_type.data or "",
            licence_number=self.licence_number.data or "",
            licence_jurisdiction=self.licence_jurisdiction.data or "",
            years_of_practice=self.years_of_practice.data,
            specialties=list(self.specialties.data or []),
            approaches=list(self.approaches.data or []),
            languages=list(self.languages.data or []),
            formats=list(self.formats.data or []),
            city=self.city.data or "",
            country=self.country.data or "",
            timezone=self.timezone.data or "",
            fee=self.fee.data,
            currency=self.currency.data or "EUR",
            session_minutes=self.session_minutes.data or 50,
            offers_free_consultation=bool(self.offers_free_consultation.data),
            accepting_new_clients=bool(self.accepting_new_clients.data),
            bio_markdown=self.bio_markdown.data or "",
            video_link=self.video_link.data or "",
            address=self.address.data or "",
            phone=self.phone.data or "",
            zone_hours=self.zone_hours.data or "",
        )


_FALSE = ("", "0", "false", "off")


def _filter_select(label: str, pairs: Any, blank: str) -> SelectField:
    return SelectField(label, choices=choices(pairs, blank), default="", widget=StaticOptionsSelect())


class DirectoryFilterForm(Form):
    """The directory's GET filters (no CSRF: reading only). Invalid values are simply ignored."""

    q = SearchField("Search by problem, name, place or language", filters=[clean_text],
                    validators=[Optional(), Length(max=100)], render_kw={"placeholder": "e.g. anxiety, grief, couples"})
    specialty = _filter_select("Specialty", SPECIALTIES, "Any specialty")
    approach = _filter_select("Approach", APPROACHES, "Any approach")
    language = _filter_select("Language", LANGUAGES, "Any language")
    format = _filter_select("Format", FORMATS, "Any format")
    # Validated against every country (a link may name one without specialists: no results, not an
    # error); shown with only those listed specialists are in (``offer_countries``).
    country = SelectField("Country", choices=choices(countries(), "Any country"), default="", widget=OptionsSelect())
    city = StringField("City", filters=[clean_text], validators=[Optional(), Length(max=80)])
    fee_min = IntegerField("Fee from (approx. €)", validators=[Optional(), NumberRange(0, 100_000)])
    fee_max = IntegerField("Fee up to (approx. €)", validators=[Optional(), NumberRange(0, 100_000)])
    # Checked boxes submit "1", so links read ?free=1&available=1. (No "licence verified" filter:
    # every listed specialist's licence has been verified.)
    free = BooleanField("Offers a free 30-minute consultation", false_values=_FALSE, render_kw={"value": "1"})
    available = BooleanField("Available this week", false_values=_FALSE, render_kw={"value": "1"})
    # The booking page's time-of-day chips (``weeks.TimeFilter``), read in the viewer's zone
    # (``show_zone`` names it): ?part=evening&part=weekend.
    part = MultiCheckboxField("Free times", choices=choices(
        (value, f"{TIME_FILTER_LABELS[value]} ({TIME_FILTER_HINTS[value]})") for value in TIME_FILTERS))
    # How the matches are ordered (not a filter: not summarised, "Clear filters" keeps it out).
    sort = SelectField("Sort by", choices=choices(SORTS.items()), default="", widget=StaticOptionsSelect())

    def valid_data(self) -> dict[str, Any]:
        """Field values that passed validation. Invalid ones (a stale or hand-edited link) are
        dropped and shown as unset, not as errors: filtering is not worth an error message."""
        self.validate()
        for f in self._fields.values():
            if f.errors:
                f.data, f.raw_data, f.errors = f.default, [], []
        self.notice = ""
        low, high = self.fee_min.data, self.fee_max.data
        if low is not None and high is not None and low > high:
            # "from 120 up to 60" is a slip of the hand, not a wish for nothing: swap, and say so.
            self.fee_min.data, self.fee_max.data = high, low
            self.notice = f"The fee range was the wrong way round; showing fees from {high} to {low}."
        return {name: f.data for name, f in self._fields.items()}

    def offer_countries(self, codes: Iterable[str]) -> None:
        """Offer only these countries (those listed specialists are in), and the chosen one (even
        without specialists, so the form shows what was applied), by name. Call after ``valid_data``."""
        wanted = {*codes, self.country.data}
        self.country.choices = choices([(code, name) for code, name in countries() if code in wanted],
                                       "Any country")

    def show_zone(self, tz: str) -> None:
        """Say in which zone (the viewer's) the times of day are read."""
        self.part.description = (f"In your time zone, {tz}, in the next {FREE_TIMES_DAYS // 7} weeks. With Weekend and a "
                                 "time of day: weekend mornings, afternoons or evenings.")

    def sort_label(self) -> str:
        """The chosen order in words ("Fee: low to high"), "" for the default one. After ``valid_data``."""
        return SORTS.get(self.sort.data or "", "") if self.sort.data else ""

    def active_labels(self) -> list[str]:
        """The applied filters in words ("Specialty: Anxiety", "Fee up to 80"), for the folded
        filter panel's summary on narrow screens. Call after ``valid_data``."""
        labels: list[str] = []
        for f in self:
            if not f.data or f.name == "sort" or f.name == "fee_max" and self.fee_min.data:
                continue
            if f.name == "part":
                labels.append(f"Free times: {TimeFilter.from_values(f.data).summary}")
            elif isinstance(f, SelectField):
                shown = next((label for value, label, *_ in f.iter_choices() if value == f.data), f.data)
                labels.append(f"{f.label.text}: {shown}")
            elif isinstance(f, BooleanField):
                labels.append(f.label.text)
            elif f.name == "fee_min":
                high = f" to {self.fee_max.data}" if self.fee_max.data else ""
                labels.append(f"Fee from {f.data}{high}")
            elif f.name == "fee_max":
                labels.append(f"Fee up to {f.data}")
            else:
                labels.append(f"“{f.data}”" if f.name == "q" else f"{f.label.text}: {f.data}")
        return labels


class RejectLicenceForm(FlaskForm):
    reason = TextAreaField("Reason (sent to the specialist)", filters=[clean_text],
                           validators=[DataRequired(message="Please give a reason."), Length(max=500)])
