// A signed image as the supply-chain tools leave one in a registry: a two-platform index with
// buildx attestation manifests; a Notation-style signature of the index and of its amd64 image;
// an SPDX SBOM of the index and a signature of that SBOM; and a cosign-style signature under the
// `sha256-<hex>.sig` tag. Pushed with the harness's own client. `tagSchema` also writes the
// referrers tag schema's `sha256-<hex>` indexes, as Notation does against a registry without the
// API (`--force-referrers-tag`), so that a plain Distribution can be a source.
import { MediaTypes, putBlob, putRawManifest, pushImage, sha256, type Descriptor, type PushedManifest, type PushResult, type TargetLike } from '../harness/index.js';

export const NOTATION_SIGNATURE = 'application/vnd.cncf.notary.signature';
export const SPDX = 'application/spdx+json';
export const COSIGN_SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

export interface SignedImage {
  image: PushResult;
  /** The amd64 image of the index. */
  amd64: PushedManifest;
  indexSignature: PushResult;
  amd64Signature: PushResult;
  sbom: PushResult;
  sbomSignature: PushResult;
  /** The cosign signature manifest, tagged `cosignTag`. */
  cosign: { digest: string; bytes: Buffer; tag: string };
  /** Every referrer by subject (not cosign's), in push order. */
  referrers: PushResult[];
}

const descriptorOf = (m: { mediaType: string; digest: string; size: number }): Descriptor => ({ mediaType: m.mediaType, digest: m.digest, size: m.size });

/** The tag the referrers tag schema (and cosign, with a suffix) names a digest by. */
export const schemaTag = (digest: string) => digest.replace(':', '-');

async function notationSignature(target: TargetLike, repo: string, subject: Descriptor, seed: string): Promise<PushResult> {
  const envelope = JSON.stringify({ payload: Buffer.from(JSON.stringify({ targetArtifact: subject })).toString('base64url'), protected: 'e30', signature: seed });
  return pushImage(target, repo, undefined, {
    kind: 'artifact',
    artifactType: NOTATION_SIGNATURE,
    files: [{ mediaType: 'application/jose+json', content: envelope }],
    subject,
    annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': `["${sha256(Buffer.from(seed)).slice(7)}"]` },
    seed,
  });
}

export async function pushSignedImage(target: TargetLike, repo: string, o: { tag?: string; tagSchema?: boolean } = {}): Promise<SignedImage> {
  const image = await pushImage(target, repo, o.tag ?? 'v1', { kind: 'index', platforms: 2, attestations: true, seed: `${repo}/image` });
  const amd64 = image.children.find((c) => c.platform?.architecture === 'amd64')!;
  const indexSignature = await notationSignature(target, repo, descriptorOf(image), `${repo}/sig-index`);
  const amd64Signature = await notationSignature(target, repo, descriptorOf(amd64), `${repo}/sig-amd64`);
  const spdx = JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: repo, packages: [{ name: 'busybox', versionInfo: '1.36.1' }] });
  const sbom = await pushImage(target, repo, undefined, { kind: 'artifact', artifactType: SPDX, files: [{ mediaType: SPDX, content: spdx, title: 'sbom.spdx.json' }], subject: descriptorOf(image), seed: `${repo}/sbom` });
  const sbomSignature = await notationSignature(target, repo, descriptorOf(sbom), `${repo}/sig-sbom`);

  // cosign: an image manifest under `sha256-<hex>.sig`, its layer the simple-signing payload.
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': repo }, image: { 'docker-manifest-digest': image.digest }, type: 'cosign container image signature' }, optional: null }));
  const config = Buffer.from(JSON.stringify({ architecture: '', config: {}, created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '', rootfs: { type: 'layers', diff_ids: [sha256(payload)] } }));
  const [p, c] = [await putBlob(target, repo, payload), await putBlob(target, repo, config)];
  const cosignManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, size: c.size, digest: c.digest },
      layers: [{ mediaType: COSIGN_SIMPLESIGNING, size: p.size, digest: p.digest, annotations: { 'dev.cosignproject.cosign/signature': Buffer.from(`sig ${repo}`).toString('base64') } }],
    }),
  );
  const cosignTag = `${schemaTag(image.digest)}.sig`;
  const put = await putRawManifest(target, repo, cosignTag, cosignManifest, MediaTypes.ociManifest);
  if (put.status !== 201) throw new Error(`cosign signature PUT → ${put.status}: ${put.body}`);

  const referrers = [indexSignature, amd64Signature, sbom, sbomSignature];
  if (o.tagSchema) {
    const bySubject = new Map<string, Descriptor[]>();
    for (const r of referrers) {
      const subject = (r.json.subject as Descriptor).digest;
      const entry = { ...descriptorOf(r), artifactType: r.json.artifactType as string, annotations: r.json.annotations as Record<string, string> };
      bySubject.set(subject, [...(bySubject.get(subject) ?? []), entry]);
    }
    for (const [subject, manifests] of bySubject) {
      const res = await putRawManifest(target, repo, schemaTag(subject), { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }, MediaTypes.ociIndex);
      if (res.status !== 201) throw new Error(`referrers tag PUT → ${res.status}: ${res.body}`);
    }
  }
  return { image, amd64, indexSignature, amd64Signature, sbom, sbomSignature, cosign: { digest: put.digest, bytes: cosignManifest, tag: cosignTag }, referrers };
}

