"""Records of the platform: organisations, activities, consultation windows, good practices.

The models follow Open Referral HSDS where it fits, flattened into one row per record so the
secretariat can keep them in a spreadsheet:

* :class:`Organization` ≈ HSDS ``organization`` (plus the member's kind and home municipality).
* :class:`Activity` ≈ HSDS ``service`` + its ``location`` (address, lat/lng) + ``schedule``
  (free text plus an optional RFC 5545 ``rrule`` with ``opens_at``/``closes_at``, evaluated
  by :mod:`.schedule`) + ``phone``/``email``/``url`` and a LINE link (checked by
  :mod:`.contact`, public only where ``contact_public`` is yes), ``minimum_age``/
  ``maximum_age`` and ``languages``, with the Japanese profile: themes, life stages, the
  area it serves and how precisely its place may be shown. HSDS ``assured_date`` is
  ``last_verified`` (最終確認日). Optional ``name_en``/``description_en`` (English) and
  ``name_easy``/``description_easy`` (やさしい日本語) hold the member's own translations;
  the member's text is never translated by the platform.
* :class:`Consultation` 相談窓口: the prefecture portal's windows by life stage and
  circumstance.
* :class:`GoodPractice` 好事例: practices collected yearly and awarded つながるSAITAMA大賞.

Cells arrive as strings from CSV/XLSX; the ``mode="before"`` validators accept the spellings
documented on each field (lists separated by ``;``, ``|`` or ``、``; dates as ``2024-05-01`` or
``2024/05/01``; yes/no cells as :func:`tsunagari_geo.cells.parse_yes_no` reads them) and reject
everything else. Checks that
need the taxonomies, the registry or the organisation list use a :class:`Vocabulary` passed as
pydantic validation context::

    Activity.model_validate(row, context=Vocabulary.default())
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tsunagari_geo.activities.contact import (
    check_email,
    check_line_url,
    normalise_phone,
    parse_languages,
)
from tsunagari_geo.activities.schedule import normalise_rrule, parse_time
from tsunagari_geo.activities.taxonomy import Taxonomies, Taxonomy, load_taxonomies
from tsunagari_geo.cells import parse_yes_no
from tsunagari_geo.region import Region, default_region
from tsunagari_geo.text import nfkc

#: The value of ``serves`` meaning the whole prefecture (県内全域).
PREFECTURE = "prefecture"
#: Ways of writing "the whole prefecture" in any region (the region's own name is added).
_PREFECTURE_SPELLINGS = frozenset(
    {"prefecture", "県内全域", "県全域", "全県", "県内", "都内全域", "府内全域", "道内全域"}
)

Format = Literal["in_person", "online", "phone", "outreach"]
LocationPrivacy = Literal["exact", "town", "municipality", "hidden"]
Channel = Literal["phone", "sns_chat", "email", "in_person", "online"]
Award = Literal["大賞", "優秀賞"]

#: Formats that put people in one place, counted as local (対面) presence.
LOCAL_FORMATS: frozenset[str] = frozenset({"in_person", "outreach"})

_FORMAT_SPELLINGS = {
    "対面": "in_person",
    "オンライン": "online",
    "電話": "phone",
    "訪問": "outreach",
    "アウトリーチ": "outreach",
}
_PRIVACY_SPELLINGS = {
    "正確": "exact",
    "番地まで": "exact",
    "町字": "town",
    "町字まで": "town",
    "市町村": "municipality",
    "市町村まで": "municipality",
    "非表示": "hidden",
}
_CHANNEL_SPELLINGS = {
    "電話": "phone",
    "sns": "sns_chat",
    "チャット": "sns_chat",
    "sns・チャット": "sns_chat",
    "メール": "email",
    "対面": "in_person",
    "来所": "in_person",
    "オンライン": "online",
}
_SPLIT = re.compile(r"\s*[;|、，,／/]\s*")
_CODE = re.compile(r"^\d{5}$")


class OrganizationKind(StrEnum):
    """Kind of member organisation (会員種別), stored by its Japanese name."""

    GOVERNMENT = "行政"
    NPO = "NPO等"
    SHAKYO = "社協"  # shakyo 社会福祉協議会, the council of social welfare
    COMPANY = "企業・業界団体"
    OTHER = "その他"


_KIND_SPELLINGS = {
    "government": OrganizationKind.GOVERNMENT,
    "npo": OrganizationKind.NPO,
    "shakyo": OrganizationKind.SHAKYO,
    "company": OrganizationKind.COMPANY,
    "other": OrganizationKind.OTHER,
    "社会福祉協議会": OrganizationKind.SHAKYO,
    "企業": OrganizationKind.COMPANY,
}


@dataclass(frozen=True)
class Vocabulary:
    """What validation checks codes against: taxonomies, municipality codes, organisations.

    ``organization_ids`` is None when no organisation list was given (then any id passes).
    """

    taxonomies: Taxonomies
    municipality_codes: frozenset[str]
    municipality_names: dict[str, str] = field(default_factory=dict)
    organization_ids: frozenset[str] | None = None
    #: the prefecture's name as written (埼玉県), for messages and for 「埼玉県」 in ``serves``.
    pref_name: str = ""

    @classmethod
    def for_region(
        cls, region: Region, organization_ids: frozenset[str] | None = None
    ) -> Vocabulary:
        """The shipped taxonomies and ``region``'s units and municipalities (wards and cities)."""
        reg = region.registry
        names = {name: m.code for name, m in reg.by_full_name().items()}
        return cls(
            taxonomies=load_taxonomies(),
            municipality_codes=frozenset(m.code for m in reg.municipalities),
            municipality_names=names,
            organization_ids=organization_ids,
            pref_name=region.pref_name,
        )

    @classmethod
    def default(cls, organization_ids: frozenset[str] | None = None) -> Vocabulary:
        """:meth:`for_region` of the default region (``$TSUNAGARI_REGION``), for files read
        without a store at hand (a member checking a template)."""
        return cls.for_region(default_region(), organization_ids)


def _vocabulary(info: ValidationInfo) -> Vocabulary | None:
    ctx = info.context
    return ctx if isinstance(ctx, Vocabulary) else None


def split_list(value: object) -> list[str]:
    """A cell holding several values (``a;b``, ``a|b``, ``a、b``) as a list; lists pass through."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v).strip() for v in value if str(v).strip()]
    text = nfkc(str(value)).strip()
    return [p for p in _SPLIT.split(text) if p] if text else []


def _resolve_terms(value: object, taxonomy: Taxonomy | None, what: str) -> list[str]:
    items = split_list(value)
    if taxonomy is None:
        return items
    out: list[str] = []
    for item in items:
        code = taxonomy.resolve(item)
        if code is None:
            raise ValueError(
                f"{what}のコードではありません: {item!r}（{', '.join(taxonomy.codes)}）"
            )
        if code not in out:
            out.append(code)
    return out


def _parse_date(value: object) -> object:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = nfkc(value).strip()
        # Spreadsheets write 2024/05/01; XLSX dates arrive with a midnight time part.
        text = re.sub(r"[ T]00:00(:00)?$", "", text).replace("/", "-")
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
        if m:
            return f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
        return text
    return value


def _parse_bool(value: object) -> object:
    # An empty cell is left to the field's default; anything else is yes, no or an error.
    parsed = parse_yes_no(value)
    return value if parsed is None else parsed


def _spelled(value: object, spellings: dict[str, str]) -> object:
    if isinstance(value, str):
        text = nfkc(value).strip()
        return spellings.get(text.lower(), spellings.get(text, text))
    return value


def _check_url(value: str | None) -> str | None:
    if value and not re.match(r"^https?://\S+$", value):
        raise ValueError(f"URL は http:// か https:// で始めてください: {value!r}")
    return value


def _one_code(value: str | None, info: ValidationInfo, message: str) -> str | None:
    """One municipality code (a name or code :func:`_serves` understands), not the prefecture."""
    if value is None:
        return None
    codes = _serves(value, info)
    if len(codes) != 1 or codes[0] == PREFECTURE:
        raise ValueError(f"{message}: {value!r}")
    return codes[0]


def _serves(value: object, info: ValidationInfo) -> list[str]:
    vocab = _vocabulary(info)
    out: list[str] = []
    for item in split_list(value):
        if item in _PREFECTURE_SPELLINGS or (vocab is not None and item == vocab.pref_name):
            code = PREFECTURE
        elif _CODE.match(item):
            code = item
            if vocab is not None and code not in vocab.municipality_codes:
                raise ValueError(f"{vocab.pref_name}の市町村コードではありません: {item!r}")
        elif vocab is not None and item in vocab.municipality_names:
            code = vocab.municipality_names[item]
        else:
            raise ValueError(
                f"対象地域は市町村コード・市町村名か prefecture で書いてください: {item!r}"
            )
        if code not in out:
            out.append(code)
    if PREFECTURE in out and len(out) > 1:
        raise ValueError("prefecture（県内全域）と市町村コードは一緒に書けません")
    return out


class Record(BaseModel):
    """Base of every record: strips cells, treats empty strings as absent."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


class _Located(Record):
    """Records with an optional point: both coordinates or neither."""

    lat: float | None = Field(default=None, ge=-90, le=90, title="緯度")
    lng: float | None = Field(default=None, ge=-180, le=180, title="経度")

    @model_validator(mode="before")
    @classmethod
    def _both_or_neither(cls, data: Any) -> Any:
        # A "before" check, so that a lone coordinate is reported even when other cells fail.
        if isinstance(data, dict):

            def given(key: str) -> bool:
                value = data.get(key)
                return value is not None and not (isinstance(value, str) and not value.strip())

            if given("lat") != given("lng"):
                raise ValueError("緯度と経度は両方書くか、両方空けてください")
        return data


class _Serving(_Located):
    """Activities and consultation windows: the life stages they serve and where.

    The fields stay declared on each subclass (keeping their order in exports); the checks
    are written once here.
    """

    @field_validator("life_stages", mode="before", check_fields=False)
    @classmethod
    def _stages(cls, value: object, info: ValidationInfo) -> list[str]:
        vocab = _vocabulary(info)
        return _resolve_terms(
            value, vocab.taxonomies.life_stages if vocab else None, "ライフステージ"
        )

    @field_validator("serves", mode="before", check_fields=False)
    @classmethod
    def _serves(cls, value: object, info: ValidationInfo) -> list[str]:
        return _serves(value, info)

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)

    @field_validator("line_url", check_fields=False)
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        return None if value is None else check_line_url(value)


class Organization(Record):
    """A member organisation (会員団体) ≈ HSDS ``organization``.

    ``base_muni_code`` is the unit or municipality where it is based (a ward's code, or
    11100 for さいたま市 as a whole); leave it empty for bodies of the prefecture itself, so
    that a 行政 member with a code means that municipality's own government.
    """

    id: str = Field(min_length=1, title="団体ID")
    name: str = Field(min_length=1, title="団体名")
    kind: OrganizationKind = Field(title="種別")
    base_muni_code: str | None = Field(default=None, title="所在市町村コード")
    member_since: date | None = Field(default=None, title="入会日")
    url: str | None = Field(default=None, title="URL")
    source: str | None = Field(default=None, title="出典")
    is_fictional: bool = Field(default=False, title="架空データ")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        return _spelled(value, {k: v.value for k, v in _KIND_SPELLINGS.items()})

    @field_validator("member_since", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        return _parse_date(value)

    @field_validator("is_fictional", mode="before")
    @classmethod
    def _bool(cls, value: object) -> object:
        return _parse_bool(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("base_muni_code")
    @classmethod
    def _known_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _one_code(value, info, "所在市町村はひとつの市町村コードで書いてください")


class Activity(_Serving):
    """An activity (活動) of a member ≈ HSDS ``service`` + ``location`` + ``schedule``.

    ``serves`` lists the municipality codes the activity is meant for, or ``["prefecture"]``
    for prefecture-wide (県内全域) services; empty means its own municipality.
    ``location_privacy`` says how precisely the public may see its place: ``exact``, ``town``
    (町字), ``municipality`` or ``hidden``; it never changes how it counts in the planners'
    coverage. A town- or municipality-level row whose text names the place its point withholds
    is published only once ``place_text_reviewed`` is yes.
    """

    id: str = Field(min_length=1, title="活動ID")
    organization_id: str = Field(min_length=1, title="団体ID")
    name: str = Field(min_length=1, title="活動名")
    description: str | None = Field(default=None, title="説明")
    themes: list[str] = Field(default_factory=list, title="テーマ")
    life_stages: list[str] = Field(default_factory=list, title="ライフステージ")
    format: Format = Field(title="形態")
    schedule_text: str | None = Field(default=None, title="日時")
    rrule: str | None = Field(default=None, title="繰り返し規則")
    #: HSDS ``schedule.opens_at``/``closes_at``: the hours of each day the rule gives.
    opens_at: str | None = Field(default=None, title="開始時刻")
    closes_at: str | None = Field(default=None, title="終了時刻")
    fee: str | None = Field(default=None, title="参加費")
    target_text: str | None = Field(default=None, title="対象")
    minimum_age: int | None = Field(default=None, ge=0, le=120, title="対象年齢（下限）")
    maximum_age: int | None = Field(default=None, ge=0, le=120, title="対象年齢（上限）")
    languages: list[str] = Field(default_factory=list, title="対応言語")
    url: str | None = Field(default=None, title="URL")
    phone: str | None = Field(default=None, title="電話番号")
    email: str | None = Field(default=None, title="メール")
    line_url: str | None = Field(default=None, title="LINE")
    #: The member lets the public see ``phone``, ``email`` and ``line_url`` (連絡先の公開);
    #: empty is no.
    contact_public: bool = Field(default=False, title="連絡先の公開")
    #: Optional translations by the member (the map shows them in that language; the text
    #: itself stays as entered): English and やさしい日本語.
    name_en: str | None = Field(default=None, title="活動名（英語）")
    description_en: str | None = Field(default=None, title="説明（英語）")
    name_easy: str | None = Field(default=None, title="活動名（やさしい日本語）")
    description_easy: str | None = Field(default=None, title="説明（やさしい日本語）")
    address: str | None = Field(default=None, title="住所")
    serves: list[str] = Field(default_factory=list, title="対象地域")
    location_privacy: LocationPrivacy = Field(default="exact", title="場所の公開範囲")
    published: bool = Field(default=True, title="公開")
    #: The secretariat read the text of a town- or municipality-level row that names its
    #: 町丁目, 番地 or building and let it be published as written (場所表記の確認済み).
    place_text_reviewed: bool = Field(default=False, title="場所表記確認済み")
    last_verified: date | None = Field(default=None, title="最終確認日")
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100, title="年度")
    source: str | None = Field(default=None, title="出典")
    is_fictional: bool = Field(default=False, title="架空データ")

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return _spelled(value, _FORMAT_SPELLINGS)

    @field_validator("location_privacy", mode="before")
    @classmethod
    def _privacy(cls, value: object) -> object:
        return _spelled(value, _PRIVACY_SPELLINGS)

    @field_validator("last_verified", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        return _parse_date(value)

    @field_validator(
        "published", "place_text_reviewed", "contact_public", "is_fictional", mode="before"
    )
    @classmethod
    def _bool(cls, value: object) -> object:
        return _parse_bool(value)

    @field_validator("opens_at", "closes_at", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        if isinstance(value, time):  # an XLSX time cell
            return value.strftime("%H:%M")
        if isinstance(value, datetime):
            return value.strftime("%H:%M")
        return None if value is None else parse_time(str(value))

    @field_validator("minimum_age", "maximum_age", mode="before")
    @classmethod
    def _age(cls, value: object) -> object:
        if isinstance(value, str):
            return re.sub(r"(歳|才)(以上|以下|から|まで)?$", "", nfkc(value).strip())
        return value

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: object) -> list[str]:
        return parse_languages(split_list(value))

    # The second of each pair is checked against the first (validated before it), so the
    # report names the column that is out of order.
    @field_validator("maximum_age")
    @classmethod
    def _age_order(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("minimum_age")
        if value is not None and low is not None and low > value:
            raise ValueError(f"対象年齢の上限 {value} が下限 {low} より小さくなっています")
        return value

    @field_validator("closes_at")
    @classmethod
    def _time_order(cls, value: str | None, info: ValidationInfo) -> str | None:
        opens = info.data.get("opens_at")
        if value is not None and opens is None and "opens_at" in info.data:
            raise ValueError("終了時刻を書くときは開始時刻も書いてください")
        if value is not None and opens is not None and value <= opens:
            raise ValueError(f"終了時刻 {value} は開始時刻 {opens} より後にしてください")
        return value

    @field_validator("fiscal_year", mode="before")
    @classmethod
    def _year(cls, value: object) -> object:
        if isinstance(value, str):
            return re.sub(r"年度$", "", nfkc(value).strip())
        return value

    @field_validator("themes", mode="before")
    @classmethod
    def _themes(cls, value: object, info: ValidationInfo) -> list[str]:
        vocab = _vocabulary(info)
        return _resolve_terms(value, vocab.taxonomies.themes if vocab else None, "テーマ")

    @field_validator("organization_id")
    @classmethod
    def _known_org(cls, value: str, info: ValidationInfo) -> str:
        vocab = _vocabulary(info)
        if vocab and vocab.organization_ids is not None and value not in vocab.organization_ids:
            raise ValueError(f"団体一覧にない団体IDです: {value!r}")
        return value

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str | None) -> str | None:
        if value is not None:
            normalise_rrule(value)  # raises, naming the value, when it is no rule
        return value

    @property
    def is_local(self) -> bool:
        """Delivered in one place or by visits (対面・訪問) and not prefecture-wide."""
        return self.format in LOCAL_FORMATS and PREFECTURE not in self.serves


class Consultation(_Serving):
    """A consultation window (相談窓口) as the prefecture's portal lists them.

    Its ``phone``, ``email`` and ``line_url`` are the window's published contacts (the
    portal lists them), checked as an activity's are (:mod:`.contact`).
    """

    id: str = Field(min_length=1, title="窓口ID")
    name: str = Field(min_length=1, title="窓口名")
    provider: str | None = Field(default=None, title="運営")
    life_stages: list[str] = Field(default_factory=list, title="ライフステージ")
    circumstances: list[str] = Field(default_factory=list, title="お困りごと")
    channels: list[Channel] = Field(default_factory=list, title="相談方法")
    hours_text: str | None = Field(default=None, title="受付時間")
    phone: str | None = Field(default=None, title="電話番号")
    email: str | None = Field(default=None, title="メール")
    line_url: str | None = Field(default=None, title="LINE")
    url: str | None = Field(default=None, title="URL")
    serves: list[str] = Field(default_factory=list, title="対象地域")
    address: str | None = Field(default=None, title="住所")
    source: str | None = Field(default=None, title="出典")
    is_fictional: bool = Field(default=False, title="架空データ")

    @field_validator("is_fictional", mode="before")
    @classmethod
    def _bool(cls, value: object) -> object:
        return _parse_bool(value)

    @field_validator("channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> list[object]:
        return [_spelled(v, _CHANNEL_SPELLINGS) for v in split_list(value)]

    @field_validator("circumstances", mode="before")
    @classmethod
    def _circumstances(cls, value: object, info: ValidationInfo) -> list[str]:
        vocab = _vocabulary(info)
        return _resolve_terms(
            value, vocab.taxonomies.circumstances if vocab else None, "お困りごと"
        )


class GoodPractice(Record):
    """A good practice (好事例), possibly awarded つながるSAITAMA大賞 (大賞 or 優秀賞).

    Unknown facts stay empty: ``muni_code`` only when the practice's municipality is known.
    """

    id: str = Field(min_length=1, title="事例ID")
    title: str = Field(min_length=1, title="事例名")
    organization_name: str = Field(min_length=1, title="団体名")
    themes: list[str] = Field(default_factory=list, title="テーマ")
    muni_code: str | None = Field(default=None, title="市町村コード")
    fiscal_year: int = Field(ge=2000, le=2100, title="年度")
    award: Award | None = Field(default=None, title="受賞")
    summary: str | None = Field(default=None, title="概要")
    source: str | None = Field(default=None, title="出典")

    @field_validator("themes", mode="before")
    @classmethod
    def _themes(cls, value: object, info: ValidationInfo) -> list[str]:
        vocab = _vocabulary(info)
        return _resolve_terms(value, vocab.taxonomies.themes if vocab else None, "テーマ")

    @field_validator("award", mode="before")
    @classmethod
    def _award(cls, value: object) -> object:
        if isinstance(value, str) and nfkc(value).strip().lower() in {"none", "なし", "-"}:
            return None
        return value

    @field_validator("muni_code")
    @classmethod
    def _known_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _one_code(value, info, "市町村コードをひとつ書いてください")


#: Fields holding lists; in tables they are written joined with ``;``.
LIST_FIELDS = frozenset(
    {"themes", "life_stages", "serves", "circumstances", "channels", "languages"}
)


def headers(model: type[Record]) -> dict[str, str]:
    """Field key → Japanese header label in table order (the templates' column names).

    Table order is field order, except that ``lat`` and ``lng`` follow ``address``.
    """
    names = [n for n in model.model_fields if n not in ("lat", "lng")]
    if "lat" in model.model_fields:
        at = names.index("address") + 1 if "address" in names else len(names)
        names[at:at] = ["lat", "lng"]
    return {name: model.model_fields[name].title or name for name in names}
