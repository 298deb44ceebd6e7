"""UK SEN data standards shared by every service (DESIGN.md §5).

Census need codes, the four broad areas of need of the SEND Code of Practice,
SEN provision codes, and UPN validation through python-stdnum.
"""

from stdnum.exceptions import ValidationError as StdnumError
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


def validate_upn(value: str) -> str:
    """Return the compact UPN or raise ValueError with a reason fit for a user."""
    try:
        return _upn.validate(value)
    except StdnumError as exc:
        raise ValueError(f"Not a valid UPN: {exc.message}") from None


def is_temporary_upn(value: str) -> bool:
    return value[-1].isalpha()
