"""The trial protocol as data: arms, strata, regimen, schedule, endpoints, analysis plan, published results."""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "errors": ["ProtocolError"],
    "load": ["bundled_protocols", "load_protocol", "protocol_from_dict", "protocol_path"],
    "models": ["DAYS_PER_MONTH", "Arm", "Drug", "Protocol", "Published", "StratificationFactor"],
})
