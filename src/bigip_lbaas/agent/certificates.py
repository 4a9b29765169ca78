"""The agent's certificates: fetched through a `CertificateSource` at reconcile time, parsed, and
held only by the `Secrets` of that one reconcile (then by its `Rendered.files`, to upload).

`source` is the one place the agent makes its source (the built-in store: the shared database and
the storage key file every API and agent host has). Nothing here logs, and a problem with a
secret is said without its content.
"""

from __future__ import annotations

from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.core.certs import (
    CertificateSource,
    InvalidBundle,
    SecretNotFound,
    UndecryptablePayload,
    parse_pem_certificates,
    parse_pem_crl,
    parse_pkcs12,
)
from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.db.secrets import DatabaseSecrets, read_storage_key
from bigip_lbaas.db.session import Database
from bigip_lbaas.engine import tls

NO_STORE = ("this agent has no certificate store ([certificates] storage_key_file is not set), "
            "so it cannot fetch")
NOT_FOUND = "the secret does not exist, has expired or belongs to another project"


def source(settings: AgentSettings, db: Database) -> CertificateSource | None:
    """The agent's certificate source, or None when no storage key file is configured. A key
    file that cannot be read stops the start (config/load.py checks it first)."""
    if not settings.storage_key_file:
        return None
    return DatabaseSecrets(db, read_storage_key(settings.storage_key_file))


def fetch(certs: CertificateSource | None, state: PartitionState) -> tls.Secrets:
    """The secrets `state`'s TLS settings name, read as the partition's project. Blocking (the
    store is the database): run it in a thread. Raises DatabaseError (try again); everything
    wrong with one secret is that secret's problem, which fails the objects that use it."""
    wanted = tls.wanted(state)
    refs = wanted.certificates | wanted.cas | wanted.crls
    if not refs:
        return tls.NO_SECRETS
    if certs is None:
        return tls.Secrets(problems={r: f"{NO_STORE} it" for r in refs})
    project = state.key.project_id
    pairs: dict[str, tls.KeyPair] = {}
    cas: dict[str, bytes] = {}
    crls: dict[str, bytes] = {}
    problems: dict[str, str] = {}
    for ref in sorted(refs):
        try:
            payload = certs.get_secret(ref, project)
            if ref in wanted.certificates:
                bundle = parse_pkcs12(payload)
                pairs[ref] = tls.KeyPair(bundle.certificate, bundle.private_key,
                                         bundle.intermediates)
            if ref in wanted.cas:
                cas[ref] = b"".join(parse_pem_certificates(payload))
            if ref in wanted.crls:
                crls[ref] = parse_pem_crl(payload)
        except SecretNotFound:
            problems[ref] = NOT_FOUND
        except (InvalidBundle, UndecryptablePayload) as err:
            problems[ref] = str(err)
    return tls.Secrets(pairs, cas, crls, problems)
