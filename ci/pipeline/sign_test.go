package pipeline

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestSignSteps(t *testing.T) {
	images := []PublishedImage{{BackendImage, "registry:5000/acme/todo-backend@" + digest}}
	for _, tt := range []struct {
		name    string
		signer  Signer
		want    []string // in every command
		notWant []string
	}{
		{"key, offline", Signer{PlainHTTP: true}, []string{"--yes", "--key " + CosignKeyPath, "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry"}, nil},
		{"keyless in GitHub Actions", Signer{Keyless: true}, []string{"--yes"}, []string{"--key", "--tlog-upload", "--use-signing-config", "--allow-http-registry"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			steps := tt.signer.SignSteps(images, "registry:5000/acme/charts/todo-app@"+digest)
			var names []string
			for _, s := range steps {
				names = append(names, s.Name)
				line := strings.Join(s.Args, " ")
				for _, w := range tt.want {
					if !strings.Contains(line, w) {
						t.Errorf("%s lacks %s: %s", s.Name, w, line)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(line, w) {
						t.Errorf("%s has %s: %s", s.Name, w, line)
					}
				}
			}
			want := "sign todo-backend,attest cyclonedx todo-backend,attest slsaprovenance1 todo-backend,sign chart"
			if strings.Join(names, ",") != want {
				t.Fatalf("steps = %v", names)
			}
			if sign := steps[0].Args; sign[0] != "sign" || !slices.Contains(sign, "--recursive") || sign[len(sign)-1] != images[0].Ref {
				t.Errorf("the image is not signed by digest with every platform: %v", sign)
			}
			if attest := strings.Join(steps[1].Args, " "); !strings.Contains(attest, "--type cyclonedx --predicate /attestations/todo-backend.cyclonedx.json "+images[0].Ref) {
				t.Errorf("SBOM attestation: %s", attest)
			}
		})
	}
}

func TestVerifySteps(t *testing.T) {
	key := Verifier{Key: true}
	steps, err := key.VerifySteps("localhost:5000/acme/todo-backend@" + digest)
	if err != nil || len(steps) != 3 {
		t.Fatalf("image: %v, %v", steps, err)
	}
	if got := strings.Join(steps[0].Args, " "); got != "verify --key "+CosignPublicKeyPath+" --insecure-ignore-tlog=true localhost:5000/acme/todo-backend@"+digest {
		t.Errorf("signature check: %s", got)
	}
	if got := strings.Join(steps[2].Args, " "); !strings.HasPrefix(got, "verify-attestation --type slsaprovenance1 --key") {
		t.Errorf("provenance check: %s", got)
	}
	chart, err := key.VerifySteps("oci://localhost:5000/acme/charts/todo-app:1.0.0")
	if err != nil || len(chart) != 1 || strings.Contains(strings.Join(chart[0].Args, " "), "oci://") {
		t.Errorf("a chart has a signature only, checked without oci://: %v, %v", chart, err)
	}
	if _, err := key.VerifySteps("localhost:5000/acme/todo-backend"); err == nil {
		t.Error("a reference without tag or digest was accepted")
	}
	if _, err := (Verifier{}).VerifySteps("x:1"); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("neither key nor identity: %v", err)
	}
	identity, err := WorkflowIdentity("https://github.com/Acme/todo-app")
	if err != nil {
		t.Fatal(err)
	}
	keyless, _ := Verifier{IdentityRegexp: identity}.VerifySteps("ghcr.io/acme/todo-backend@" + digest)
	if got := strings.Join(keyless[0].Args, " "); !strings.Contains(got, "--certificate-oidc-issuer "+GitHubOIDCIssuer) {
		t.Errorf("keyless check: %s", got)
	}
}

func TestWorkflowIdentity(t *testing.T) {
	re, err := WorkflowIdentity("acme/todo-app")
	if err != nil {
		t.Fatal(err)
	}
	for subject, want := range map[string]bool{
		"https://github.com/acme/todo-app/.github/workflows/ci.yml@refs/heads/main":    true,
		"https://github.com/acme/todo-app/.github/workflows/ci.yml@refs/tags/v1.0.0":   true,
		"https://github.com/acme/todo-app/.github/workflows/other.yml@refs/heads/main": false,
		"https://github.com/evil/todo-app/.github/workflows/ci.yml@refs/heads/main":    false,
		"https://github.com/acme/todo-appx/.github/workflows/ci.yml@refs/heads/main":   false,
	} {
		if got := regexp.MustCompile(re).MatchString(subject); got != want {
			t.Errorf("%s matches %v, want %v (%s)", subject, got, want, re)
		}
	}
	if _, err := WorkflowIdentity("not a repo"); err == nil {
		t.Error("a bad repository was accepted")
	}
}

func TestBaseImagesAndDeploySets(t *testing.T) {
	got := BaseImageArgs("# syntax=docker/dockerfile:1.7\nARG GO_IMAGE=golang:1.26-alpine\nARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot\nARG VERSION=dev\nFROM ${GO_IMAGE} AS build\n")
	if !maps.Equal(got, map[string]string{"GO_IMAGE": "golang:1.26-alpine", "RUNTIME_IMAGE": "gcr.io/distroless/static-debian12:nonroot"}) {
		t.Errorf("BaseImageArgs = %v", got)
	}
	sets := DeploySets([]PublishedImage{{BackendImage, "ghcr.io/acme/todo-backend@" + digest}, {FrontendImage, "ghcr.io/acme/todo-frontend@" + digest}})
	want := []string{"--set backend.image.repository=ghcr.io/acme/todo-backend", "--set backend.image.digest=" + digest,
		"--set frontend.image.repository=ghcr.io/acme/todo-frontend", "--set frontend.image.digest=" + digest}
	if !slices.Equal(sets, want) {
		t.Errorf("DeploySets = %v", sets)
	}
}
