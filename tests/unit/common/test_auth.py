from datetime import timedelta

import jwt
import pytest

from services.common import auth
from services.common.problems import Forbidden, Unauthorized


def test_issued_token_verifies_to_a_principal():
    tok = auth.issue_token("jo", "org-1", ["senco", "teacher"])
    p = auth.verify_token(tok)
    assert p.sub == "jo" and p.org == "org-1" and p.roles == {"senco", "teacher"}


def test_expired_token_is_refused():
    tok = auth.issue_token("jo", "org-1", ["senco"], ttl=timedelta(seconds=-120))
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify_token(tok)


def test_token_signed_by_another_key_is_refused():
    other_private, _ = auth.generate_key_pair()
    tok = auth.issue_token("jo", "org-1", ["senco"], key=other_private)
    with pytest.raises(Unauthorized):
        auth.verify_token(tok)


def test_unsigned_or_hmac_token_is_refused():
    none_tok = jwt.encode({"sub": "jo", "org": "o", "roles": ["trust_admin"]}, None,
                          algorithm="none")
    with pytest.raises(Unauthorized):
        auth.verify_token(none_tok)


def test_token_without_org_is_refused():
    import uuid
    from datetime import UTC, datetime
    claims = {"sub": "jo", "roles": ["senco"], "iss": "sen-trust", "aud": "sen-trust-api",
              "exp": datetime.now(UTC) + timedelta(hours=1), "jti": str(uuid.uuid4())}
    tok = jwt.encode(claims, auth.private_key(), algorithm="RS256")
    with pytest.raises(Unauthorized):
        auth.verify_token(tok)


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError):
        auth.issue_token("jo", "org-1", ["headteacher"])


def test_authorise_checks_roles():
    p = auth.Principal("jo", "o", frozenset({"teacher"}))
    auth.authorise(p, {"teacher", "senco"})
    with pytest.raises(Forbidden):
        auth.authorise(p, {"senco"})


def test_during_key_rotation_tokens_of_both_keys_verify(monkeypatch):
    old_private, old_public = auth.generate_key_pair()
    new_private, new_public = auth.generate_key_pair()
    monkeypatch.setenv("JWT_PUBLIC_KEY", (old_public + new_public).decode())
    for key in (old_private, new_private):
        assert auth.verify_token(auth.issue_token("jo", "o", ["senco"], key=key)).sub == "jo"
    stranger, _ = auth.generate_key_pair()
    with pytest.raises(Unauthorized):
        auth.verify_token(auth.issue_token("jo", "o", ["senco"], key=stranger))
