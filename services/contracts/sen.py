"""UK SEN data standards shared by every service (docs/architecture.md, "UK SEN standards").

Census need codes, the four broad areas of need of the SEND Code of Practice,
SEN provision codes, and UPN validation: python-stdnum's check letter, with the
local authority numbers from our own data file `la_numbers.json` (DfE's current LA
numbers and the former ones still on older pupils' UPNs; stdnum's list predates
the authorities created since 2019). That file is the one place to update them.
"""

import json
from functools import cache
from pathlib import Path

from stdnum.gb import upn as _upn

AREAS_OF_NEED = (
    "communication_and_interaction",
    "cognition_and_learning",
    "social_emotional_mental_health",
    "sensory_and_physical",
)

# School census primary/secondary need codes and the broad area each belongs to.
NEED_TYPE_AREA = {
    "SPLD": "cognition_and_learning",
    "MLD": "cognition_and_learning",
    "SLD": "cognition_and_learning",
    "PMLD": "cognition_and_learning",
    "SLCN": "communication_and_interaction",
    "ASD": "communication_and_interaction",
    "SEMH": "social_emotional_mental_health",
    "HI": "sensory_and_physical",
    "VI": "sensory_and_physical",
    "MSI": "sensory_and_physical",
    "PD": "sensory_and_physical",
    # OTH and NSA do not map to one area; they are recorded but carry no area.
    "OTH": None,
    "NSA": None,
}
NEED_TYPES = tuple(NEED_TYPE_AREA)

SEN_PROVISION = ("E", "K", "N")  # EHC plan, SEN support, no SEN


LA_NUMBERS_FILE = Path(__file__).with_name("la_numbers.json")


@cache
def la_numbers():
    """{LA number: name} of every LA number a UPN may carry (current and former)."""
    doc = json.loads(LA_NUMBERS_FILE.read_text(encoding="utf-8"))
    out = {row["la"]: row["name"] for row in doc["current"]}
    out.update({row["la"]: f"{row['name']} (until {row['abolished']})" for row in doc["former"]})
    return out


def validate_upn(value: str) -> str:
    """Return the compact UPN or raise ValueError with a reason fit for a user.

    Format and check letter as python-stdnum computes them (DfE UPN guidance);
    the LA number from `la_numbers.json`."""
    number = _upn.compact(value or "")
    if len(number) != 13:
        raise ValueError(f"Not a valid UPN: a UPN has 13 characters, this has {len(number)}")
    if not number[1:-1].isdigit() or number[-1] not in _upn._alphabet \
            or number[0] not in _upn._alphabet:
        raise ValueError("Not a valid UPN: a check letter, 11 digits, then a digit or a "
                         "letter (temporary UPN)")
    if number[1:4] not in la_numbers():
        raise ValueError(f"Not a valid UPN: {number[1:4]} is not a DfE local authority number")
    if _upn.calc_check_digit(number[1:]) != number[0]:
        raise ValueError("Not a valid UPN: the check letter does not match")
    return number


def is_temporary_upn(value: str) -> bool:
    return value[-1].isalpha()
