from datetime import timedelta

import jwt
import pytest

from services.common import auth
from services.common.problems import Forbidden, Unauthorized


def test_issued_token_verifies_to_a_principal():
    tok = auth.issue_token("jo", "org-1", ["senco", "teacher"], org_kind="trust_school")
    p = auth.verify_token(tok)
    assert p.sub == "jo" and p.org == "org-1" and p.roles == {"senco", "teacher"}


def test_expired_token_is_refused():
    tok = auth.issue_token("jo", "org-1", ["senco"], ttl=timedelta(seconds=-120),
                           org_kind="trust_school")
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify_token(tok)


def test_token_signed_by_another_key_is_refused():
    other_private, _ = auth.generate_key_pair()
    tok = auth.issue_token("jo", "org-1", ["senco"], key=other_private, org_kind="arb")
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
        auth.issue_token("jo", "org-1", ["headteacher"], org_kind="trust")


def test_authorise_checks_roles():
    p = auth.Principal("jo", "o", frozenset({"teacher"}), org_kind="trust_school")
    auth.authorise(p, {"teacher", "senco"})
    with pytest.raises(Forbidden):
        auth.authorise(p, {"senco"})


def test_during_key_rotation_tokens_of_both_keys_verify(monkeypatch):
    old_private, old_public = auth.generate_key_pair()
    new_private, new_public = auth.generate_key_pair()
    monkeypatch.setenv("JWT_PUBLIC_KEY", (old_public + new_public).decode())
    for key in (old_private, new_private):
        assert auth.verify_token(auth.issue_token("jo", "o", ["senco"], key=key,
                                                          org_kind="arb")).sub == "jo"
    stranger, _ = auth.generate_key_pair()
    with pytest.raises(Unauthorized):
        auth.verify_token(auth.issue_token("jo", "o", ["senco"], key=stranger,
                                                org_kind="arb"))


def _signed(**claims):
    import uuid
    from datetime import UTC, datetime
    now = datetime.now(UTC)
    base = {"sub": "jo", "org": "o", "org_kind": "trust_school", "roles": ["senco"],
            "iss": "sen-trust", "aud": "sen-trust-api", "iat": now,
            "exp": now + timedelta(hours=1), "jti": str(uuid.uuid4())}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, auth.private_key(),
                      algorithm="RS256")


def test_a_token_without_org_kind_is_refused():
    with pytest.raises(Unauthorized, match="org_kind"):
        auth.verify_token(_signed(org_kind=None))
    with pytest.raises(Unauthorized, match="org_kind"):
        auth.verify_token(_signed(org_kind="galaxy"))


def test_a_token_living_longer_than_the_maximum_is_refused(monkeypatch):
    from datetime import UTC, datetime
    now = datetime.now(UTC)
    hundred_years = _signed(iat=now, exp=now + timedelta(days=36500))
    with pytest.raises(Unauthorized, match="longer"):
        auth.verify_token(hundred_years)
    nine_hours = _signed(iat=now, exp=now + timedelta(hours=9))
    with pytest.raises(Unauthorized, match="longer"):
        auth.verify_token(nine_hours)
    assert auth.verify_token(_signed(iat=now, exp=now + timedelta(hours=8))).sub == "jo"
    monkeypatch.setenv("JWT_MAX_TTL_SECONDS", "600")
    with pytest.raises(Unauthorized, match="longer"):
        auth.verify_token(_signed(iat=now, exp=now + timedelta(minutes=15)))


def test_a_token_without_iat_is_refused():
    with pytest.raises(Unauthorized):
        auth.verify_token(_signed(iat=None))


def test_revoked_tokens_are_refused(monkeypatch, tmp_path):
    import time
    monkeypatch.setenv("JWT_REVOCATION_FILE", str(tmp_path / "revoked.jsonl"))
    lost = auth.issue_token("jo@school", "o", ["senco"], org_kind="trust_school")
    other = auth.issue_token("al@school", "o", ["senco"], org_kind="trust_school")
    assert auth.verify_token(lost).sub == "jo@school"
    auth.revoke(jti=jwt.decode(lost, options={"verify_signature": False})["jti"])
    with pytest.raises(Unauthorized, match="revoked"):
        auth.verify_token(lost)
    assert auth.verify_token(other).sub == "al@school"
    # Every token of a person issued so far (a lost device), not the ones after.
    again = auth.issue_token("Jo@School", "o", ["senco"], org_kind="trust_school")
    auth.revoke(sub="JO@school")
    with pytest.raises(Unauthorized, match="revoked"):
        auth.verify_token(again)
    time.sleep(1.1)
    fresh = auth.issue_token("jo@school", "o", ["senco"], org_kind="trust_school")
    assert auth.verify_token(fresh).sub == "jo@school"


def test_a_parent_token_carries_its_pupils():
    tok = auth.issue_token("mum@home.example", "school-1", ["parent"], org_kind="trust_school",
                           pupils=["p-1", "p-2"])
    p = auth.verify_token(tok)
    assert p.pupils == {"p-1", "p-2"} and p.org_kind == "trust_school"
    assert auth.verify_token(auth.issue_token("jo", "o", ["senco"], org_kind="arb")).pupils == set()
