"""The portal's I/O, each a nameko DependencyProvider on PortalService: the services'
APIs (services.py), staff sign-in over OpenID Connect (oidc.py) and page rendering
(web.py). localidp.py runs the local OpenID provider for `make run` and the tests."""
