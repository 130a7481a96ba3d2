package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Where the signing container finds its inputs.
const (
	CosignKeyPath       = "/cosign/cosign.key"
	CosignPublicKeyPath = "/cosign/cosign.pub"
	AttestationsDir     = "/attestations"
)

// Attestation predicate types, as cosign names them.
const (
	SBOMType       = "cyclonedx"
	ProvenanceType = "slsaprovenance1"
)

// Signer is how publish signs: with a key, or keyless with GitHub Actions'
// OIDC identity (Fulcio certificate, Rekor entry). A key signs without a
// transparency log, so key-signed artifacts verify by the key alone, in a
// private registry and offline as well.
type Signer struct {
	Keyless   bool
	PlainHTTP bool // a registry reached over http (--registry-service)
}

// flags are those of every cosign sign and attest.
func (s Signer) flags() []string {
	flags := []string{"--yes"}
	if !s.Keyless {
		flags = append(flags, "--key", CosignKeyPath, "--tlog-upload=false", "--use-signing-config=false")
	}
	return append(flags, registryFlags(s.PlainHTTP)...)
}

func registryFlags(plainHTTP bool) []string {
	if plainHTTP {
		return []string{"--allow-http-registry", "--allow-insecure-registry"}
	}
	return nil
}

// PublishedImage is an image publish pushed, by digest.
type PublishedImage struct {
	Name string // BackendImage or FrontendImage
	Ref  string // repository@sha256:…, as the push container reached it
}

// SignSteps are the cosign commands that sign what publish pushed: each image
// by its digest, --recursive so the index and every platform's manifest are
// signed, then its SBOM and provenance attested to the same digest; and the
// chart. Predicates are AttestationsDir/<name>.<type>.json.
func (s Signer) SignSteps(images []PublishedImage, chartRef string) []Step {
	var steps []Step
	for _, img := range images {
		steps = append(steps,
			Step{"sign " + img.Name, append(append([]string{"sign"}, s.flags()...), "--recursive", img.Ref)},
		)
		for _, typ := range []string{SBOMType, ProvenanceType} {
			args := append([]string{"attest"}, s.flags()...)
			args = append(args, "--type", typ, "--predicate", PredicatePath(img.Name, typ), img.Ref)
			steps = append(steps, Step{"attest " + typ + " " + img.Name, args})
		}
	}
	return append(steps, Step{"sign chart", append(append([]string{"sign"}, s.flags()...), chartRef)})
}

// PredicatePath is where an image's attestation predicate is mounted.
func PredicatePath(image, typ string) string {
	return AttestationsDir + "/" + image + "." + typ + ".json"
}

// Verifier is what verify checks signatures against: a public key, or the
// keyless identity (a regexp of the certificate's subject, and its issuer).
type Verifier struct {
	Key                        bool
	IdentityRegexp, OIDCIssuer string
	PlainHTTP                  bool
}

// GitHubOIDCIssuer issues the identity tokens of GitHub Actions.
const GitHubOIDCIssuer = "https://token.actions.githubusercontent.com"

// WorkflowIdentity is the keyless identity of this repository's workflow,
// e.g. https://github.com/acme/todo-app/.github/workflows/ci.yml@refs/heads/main.
func WorkflowIdentity(repository string) (string, error) {
	m := regexp.MustCompile(`^(?:https://github\.com/)?([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$`).FindStringSubmatch(repository)
	if m == nil {
		return "", fmt.Errorf("repository %q: want owner/name or https://github.com/owner/name", repository)
	}
	return "^" + regexp.QuoteMeta("https://github.com/"+m[1]+"/.github/workflows/ci.yml@") + "refs/(heads|tags)/.+$", nil
}

func (v Verifier) flags() ([]string, error) {
	var flags []string
	switch {
	case v.Key:
		flags = []string{"--key", CosignPublicKeyPath, "--insecure-ignore-tlog=true"}
	case v.IdentityRegexp != "":
		flags = []string{"--certificate-identity-regexp", v.IdentityRegexp, "--certificate-oidc-issuer", cmp.Or(v.OIDCIssuer, GitHubOIDCIssuer)}
	default:
		return nil, errors.New("give the public key (--cosign-public-key) or the signing identity (--repository or --certificate-identity-regexp)")
	}
	return append(flags, registryFlags(v.PlainHTTP)...), nil
}

// ProvenanceStep verifies an image's provenance attestation and prints it
// (the DSSE envelope, one a line): what reproduce rebuilds from.
func (v Verifier) ProvenanceStep(ref string) (Step, error) {
	flags, err := v.flags()
	if err != nil {
		return Step{}, err
	}
	return Step{"provenance of " + ref, append(append([]string{"verify-attestation", "--type", ProvenanceType}, flags...), ref)}, nil
}

// VerifySteps are the checks of one reference: its signature, and for an
// image (not a chart, oci://…) both attestations.
func (v Verifier) VerifySteps(ref string) ([]Step, error) {
	flags, err := v.flags()
	if err != nil {
		return nil, err
	}
	ref, isChart := strings.CutPrefix(ref, "oci://")
	if name := ref[strings.LastIndex(ref, "/")+1:]; !strings.ContainsAny(name, ":@") {
		return nil, fmt.Errorf("reference %q: give a tag or, better, a digest", ref)
	}
	steps := []Step{{"signature of " + ref, append(append([]string{"verify"}, flags...), ref)}}
	if !isChart {
		for _, typ := range []string{SBOMType, ProvenanceType} {
			steps = append(steps, Step{typ + " attestation of " + ref,
				append(append([]string{"verify-attestation", "--type", typ}, flags...), ref)})
		}
	}
	return steps, nil
}

// DeploySets are the helm --set lines that deploy exactly the images given
// (repository@sha256:…, as their users pull them), as publish signed them.
func DeploySets(images []PublishedImage) []string {
	var sets []string
	for _, img := range images {
		repo, digest, _ := strings.Cut(img.Ref, "@")
		value := map[string]string{BackendImage: "backend", FrontendImage: "frontend"}[img.Name]
		sets = append(sets, "--set "+value+".image.repository="+repo, "--set "+value+".image.digest="+digest)
	}
	return sets
}
