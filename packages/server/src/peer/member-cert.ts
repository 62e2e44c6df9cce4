// How a peer certificate names its member: a URI subject alternative name raftkv://member/<id>
// (the id URI-encoded). deploy/k8s/components/tls/make-certs.sh and the cert-manager component issue
// one per pod. A node refuses to start with a --peer-tls-cert that does not name its own --id, and a
// receiving node takes the sender's id from the certificate of each peer stream (peer-guard.ts).
import type { PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';

export const MEMBER_URI_PREFIX = 'raftkv://member/';

/** The member ids a subjectAltName string ("DNS:a, URI:raftkv://member/n1, ...") names. */
function memberIds(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const ids: string[] = [];
  for (const part of subjectAltName.split(/,\s*/)) {
    if (!part.startsWith(`URI:${MEMBER_URI_PREFIX}`)) continue;
    try {
      ids.push(decodeURIComponent(part.slice(4 + MEMBER_URI_PREFIX.length)));
    } catch {
      ids.push(''); // undecodable: counted, so the certificate is refused below
    }
  }
  return ids;
}

/** The one member id a certificate names, or why it names none. */
export function memberOf(subjectAltName: string | undefined): { id: string } | { error: string } {
  const ids = memberIds(subjectAltName);
  if (ids.length === 1 && ids[0] !== '') return { id: ids[0]! };
  return {
    error:
      ids.length === 0
        ? `the peer certificate names no member (no SAN URI ${MEMBER_URI_PREFIX}<id>)`
        : 'the peer certificate names several members',
  };
}

/** The member a TLS peer's certificate names. */
export function memberOfPeer(cert: PeerCertificate | undefined): { id: string } | { error: string } {
  if (cert === undefined || Object.keys(cert).length === 0) return { error: 'no peer certificate' };
  return memberOf(cert.subjectaltname);
}

/** The member a PEM certificate names (this node's own --peer-tls-cert). */
export function memberOfPem(pem: Buffer): { id: string } | { error: string } {
  return memberOf(new X509Certificate(pem).subjectAltName);
}
