"""SEN trust platform: five nameko services and the kit they share."""

import warnings

# eventlet announces its own deprecation on import; nameko 3 still needs it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
