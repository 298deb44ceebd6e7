import pytest

from tests.conftest import free_port


@pytest.fixture
def run_service(rabbit_config, container_factory, database_urls):
    """Start a service container (real RabbitMQ vhost, real HTTP server) on a free
    port with its own migrated database. Returns (base_url, container, db_url)."""

    def start(service_cls, db_url=None, **config):
        url = db_url or database_urls(service_cls.name)
        port = free_port()
        container = container_factory(service_cls, config={
            f"{service_cls.name.upper()}_DATABASE_URL": url,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", **config})
        container.start()
        return f"http://127.0.0.1:{port}", container, url

    return start
