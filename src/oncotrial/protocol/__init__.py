"""The trial protocol as data: arms, strata, regimen, schedule, endpoints, analysis plan, published results."""

from oncotrial.protocol.load import ProtocolError, bundled_protocols, load_protocol, protocol_from_dict, protocol_path
from oncotrial.protocol.models import DAYS_PER_MONTH, Arm, Drug, Protocol, Published, StratificationFactor

__all__ = [
    "DAYS_PER_MONTH", "Arm", "Drug", "Protocol", "ProtocolError", "Published", "StratificationFactor",
    "bundled_protocols", "load_protocol", "protocol_from_dict", "protocol_path",
]
