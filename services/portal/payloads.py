"""The portal publishes no events: it reads and writes through the services' APIs only."""
