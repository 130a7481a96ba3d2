package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// signing is what publish signs with: a cosign key (and its password), or
// GitHub Actions' OIDC token request (keyless), or nothing.
type signing struct {
	key, password      *dagger.Secret
	oidcURL, oidcToken *dagger.Secret
}

func (s signing) keyless() bool { return s.key == nil && s.oidcURL != nil && s.oidcToken != nil }
func (s signing) enabled() bool { return s.key != nil || s.keyless() }

// cosign is the pinned cosign image with the registry reachable. Every run
// reaches the registry, so no exec of it is cached.
func (m *TodoApp) cosign(ctx context.Context, r registryAccess) (*dagger.Container, string, error) {
	c := dag.Container().From(m.CosignImage).WithEnvVariable("COSIGN_RUN", rand.Text())
	user, err := c.User(ctx)
	if err != nil {
		return nil, "", err
	}
	if r.tunnel != nil {
		c = c.WithServiceBinding(pipeline.RegistryTunnelHost, r.tunnel)
	}
	if r.auth != nil {
		// A registry config as a secret file: never credentials in arguments or layers.
		pw, err := r.auth.Secret.Plaintext(ctx)
		if err != nil {
			return nil, "", err
		}
		auth, _ := json.Marshal(map[string]any{"auths": map[string]any{
			pipeline.RegistryHost(r.route.Push): map[string]string{"username": r.auth.Username, "password": pw}}})
		sum := sha256.Sum256(auth)
		c = c.WithMountedSecret("/cosign-auth/config.json", dag.SetSecret("todo-app-cosign-auth-"+hex.EncodeToString(sum[:8]), string(auth)),
			dagger.ContainerWithMountedSecretOpts{Owner: user}).
			WithEnvVariable("DOCKER_CONFIG", "/cosign-auth")
	}
	return c, user, nil
}

// runSteps runs cosign commands in order and reports each; the first failure stops them.
func runSteps(ctx context.Context, c *dagger.Container, steps []pipeline.Step) (string, error) {
	var report strings.Builder
	for _, s := range steps {
		c = c.WithExec(s.Args, dagger.ContainerWithExecOpts{UseEntrypoint: true})
		if _, err := c.Sync(ctx); err != nil {
			return report.String(), fmt.Errorf("%s: %w", s.Name, describe(err))
		}
		fmt.Fprintf(&report, "ok  %s\n", s.Name)
	}
	return report.String(), nil
}

// sign signs and attests what publish pushed, and says how.
func (m *TodoApp) sign(ctx context.Context, s signing, access registryAccess, r *releaseBuild, images []pipeline.PublishedImage, chartRef string) (string, error) {
	if !s.enabled() {
		return "NOT SIGNED: give --cosign-key (and --cosign-password), or run in GitHub Actions with id-token: write " +
			"and --github-oidc-request-url/--github-oidc-request-token\n", nil
	}
	c, user, err := m.cosign(ctx, access)
	if err != nil {
		return "", err
	}
	signer := pipeline.Signer{Keyless: s.keyless(), PlainHTTP: access.route.PlainHTTP}
	how := "keyless, as this GitHub Actions workflow (Fulcio certificate, Rekor entry)"
	if s.keyless() {
		c = c.WithSecretVariable("ACTIONS_ID_TOKEN_REQUEST_URL", s.oidcURL).
			WithSecretVariable("ACTIONS_ID_TOKEN_REQUEST_TOKEN", s.oidcToken)
	} else {
		how = "with the key, no transparency log (verify with the public key and --insecure-ignore-tlog=true)"
		c = c.WithMountedSecret(pipeline.CosignKeyPath, s.key, dagger.ContainerWithMountedSecretOpts{Owner: user, Mode: 0o400})
		if s.password != nil {
			c = c.WithSecretVariable("COSIGN_PASSWORD", s.password)
		} else {
			c = c.WithEnvVariable("COSIGN_PASSWORD", "")
		}
	}
	predicates, err := m.predicates(ctx, r)
	if err != nil {
		return "", err
	}
	report, err := runSteps(ctx, c.WithDirectory(pipeline.AttestationsDir, predicates, dagger.ContainerWithDirectoryOpts{Owner: user}),
		signer.SignSteps(images, chartRef))
	if err != nil {
		return "", fmt.Errorf("signing:\n%s%w", report, err)
	}
	return "signed " + how + ":\n" + report, nil
}

// predicates are each image's CycloneDX SBOM (as sbom makes it, of the
// first platform published) and SLSA provenance (everything it is built from).
func (m *TodoApp) predicates(ctx context.Context, r *releaseBuild) (*dagger.Directory, error) {
	engine, err := dag.Version(ctx)
	if err != nil {
		return nil, err
	}
	builder := "https://dagger.io/engine@" + engine + " (github.com/todo-app/todo-app/ci)"
	dir := dag.Directory()
	for _, b := range r.images {
		predicate, err := b.Predicate(builder)
		if err != nil {
			return nil, err
		}
		sbom, err := r.sbom(ctx, m, b)
		if err != nil {
			return nil, err
		}
		dir = dir.
			WithFile(strings.TrimPrefix(pipeline.PredicatePath(b.Image, pipeline.SBOMType), pipeline.AttestationsDir+"/"), sbom).
			WithNewFile(strings.TrimPrefix(pipeline.PredicatePath(b.Image, pipeline.ProvenanceType), pipeline.AttestationsDir+"/"), string(predicate))
	}
	return dir, nil
}

// Verify checks published images and charts as a consumer would: each
// reference's signature (by the public key, or keyless as this repository's
// workflow) and, for images, both attestations (CycloneDX SBOM, SLSA
// provenance). It fails at the first mismatch, saying which. A private
// registry's credentials come through with-registry-auth.
// +cache="never"
func (m *TodoApp) Verify(
	ctx context.Context,
	// References: images (repository@sha256:… or repository:tag) and charts (oci://…).
	refs []string,
	// Public key of a key-signed publish (cosign.pub).
	// +optional
	cosignPublicKey *dagger.File,
	// Repository whose GitHub Actions workflow signed keyless, e.g. acme/todo-app.
	// +optional
	repository string,
	// The registry as a service, for one on this machine (as for publish).
	// +optional
	registryService *dagger.Service,
) (string, error) {
	if len(refs) == 0 {
		return "", fmt.Errorf("give the references to verify")
	}
	v, err := m.newVerification(ctx, refs[0], cosignPublicKey, repository, registryService)
	if err != nil {
		return "", err
	}
	var steps []pipeline.Step
	for _, ref := range refs {
		s, err := v.verifier.VerifySteps(v.access.route.Internal(ref))
		if err != nil {
			return "", err
		}
		steps = append(steps, s...)
	}
	c := v.cosign
	report, err := runSteps(ctx, c, steps)
	if err != nil {
		return "", fmt.Errorf("verification FAILED:\n%s%w", report, err)
	}
	return report, nil
}

// verification is how published artifacts are checked: what their
// signatures must match, how the registry is reached, and cosign ready for it.
type verification struct {
	verifier pipeline.Verifier
	access   registryAccess
	cosign   *dagger.Container
}

// newVerification checks signatures against the public key, or else the
// keyless identity of the repository's workflow, in the registry of ref.
func (m *TodoApp) newVerification(ctx context.Context, ref string, cosignPublicKey *dagger.File, repository string,
	registryService *dagger.Service) (*verification, error) {
	v := &verification{verifier: pipeline.Verifier{Key: cosignPublicKey != nil, PlainHTTP: registryService != nil}}
	if cosignPublicKey == nil && repository != "" {
		identity, err := pipeline.WorkflowIdentity(repository)
		if err != nil {
			return nil, err
		}
		v.verifier.IdentityRegexp = identity
	}
	route, err := pipeline.NewRegistryRoute(pipeline.RegistryHost(strings.TrimPrefix(ref, "oci://")), registryService != nil)
	if err != nil {
		return nil, err
	}
	v.access = m.access(route, registryService)
	c, user, err := m.cosign(ctx, v.access)
	if err != nil {
		return nil, err
	}
	if cosignPublicKey != nil {
		c = c.WithFile(pipeline.CosignPublicKeyPath, cosignPublicKey, dagger.ContainerWithFileOpts{Owner: user})
	}
	v.cosign = c
	return v, nil
}

// SigningKey generates a cosign key pair for publish --cosign-key and verify
// --cosign-public-key: cosign.key, encrypted with the password, and cosign.pub.
// +cache="never"
func (m *TodoApp) SigningKey(
	ctx context.Context,
	// Password that encrypts the private key (publish needs it as --cosign-password).
	password *dagger.Secret,
) (*dagger.Directory, error) {
	c := dag.Container().From(m.CosignImage)
	user, err := c.User(ctx)
	if err != nil {
		return nil, err
	}
	return c.WithDirectory("/keys", dag.Directory(), dagger.ContainerWithDirectoryOpts{Owner: user}).
		WithWorkdir("/keys").
		WithEnvVariable("KEY_RUN", rand.Text()). // a new pair every time
		WithSecretVariable("COSIGN_PASSWORD", password).
		WithExec([]string{"generate-key-pair"}, dagger.ContainerWithExecOpts{UseEntrypoint: true}).
		Directory("/keys"), nil
}
