package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func testBuild() ImageBuild {
	return ImageBuild{Image: BackendImage, Repository: "https://github.com/acme/todo-app",
		Commit: "0123456789abcdef0123456789abcdef01234567", SourceDateEpoch: 1764504000, Version: "1.2.3",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		BaseImages: map[string]string{"GO_IMAGE": "docker.io/library/golang:1.26-alpine@" + digest,
			"RUNTIME_IMAGE": "gcr.io/distroless/static-debian12:nonroot@" + digest}}
}

// What publish records, reproduce reads back: the provenance alone is enough
// to build the image again.
func TestProvenanceRoundTrip(t *testing.T) {
	b := testBuild()
	predicate, err := b.Predicate("https://dagger.io/engine@v0.19.10")
	if err != nil {
		t.Fatal(err)
	}
	var p provenance
	if err := json.Unmarshal(predicate, &p); err != nil {
		t.Fatal(err)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if len(deps) != 3 || deps[0].URI != "git+https://github.com/acme/todo-app" || deps[0].Digest["gitCommit"] != b.Commit ||
		deps[1].URI != "docker://docker.io/library/golang:1.26-alpine" || "sha256:"+deps[1].Digest["sha256"] != digest {
		t.Fatalf("resolved dependencies: %+v", deps)
	}
	args := p.BuildDefinition.ExternalParameters.BuildArgs
	if args["COMMIT"] != b.Commit || args["VERSION"] != "1.2.3" || args["GO_IMAGE"] != b.BaseImages["GO_IMAGE"] ||
		p.BuildDefinition.ExternalParameters.SourceDateEpoch != 1764504000 {
		t.Fatalf("external parameters: %+v", p.BuildDefinition.ExternalParameters)
	}

	statement, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1",
		"predicateType": ProvenancePredicateType, "predicate": json.RawMessage(predicate)})
	sbom, _ := json.Marshal(map[string]any{"predicateType": "https://cyclonedx.org/bom", "predicate": map[string]any{"bomFormat": "CycloneDX"}})
	envelope := func(doc []byte) string {
		e, _ := json.Marshal(map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(doc)})
		return string(e)
	}
	for name, input := range map[string]string{
		"predicate":                      string(predicate),
		"statement":                      string(statement),
		"envelopes, the SBOM's first":    envelope(sbom) + "\n" + envelope(statement) + "\n",
		"an envelope among cosign lines": envelope(statement),
	} {
		got, builder, err := ParseProvenance(input)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, b) || builder != "https://dagger.io/engine@v0.19.10" {
			t.Fatalf("%s: read back %+v (builder %q), want %+v", name, got, builder, b)
		}
	}
	if got := b.BuildArgs(); len(got) != 4 || got["RUNTIME_IMAGE"] != b.BaseImages["RUNTIME_IMAGE"] {
		t.Errorf("BuildArgs = %v", got)
	}
}

func TestProvenanceRefusesWhatCannotBeRebuilt(t *testing.T) {
	for name, change := range map[string]func(*ImageBuild){
		"a short commit":      func(b *ImageBuild) { b.Commit = "0123456" },
		"no commit time":      func(b *ImageBuild) { b.SourceDateEpoch = 0 },
		"a base image by tag": func(b *ImageBuild) { b.BaseImages = map[string]string{"GO_IMAGE": "golang:1.26-alpine"} },
		"no base image":       func(b *ImageBuild) { b.BaseImages = nil },
		"another image name":  func(b *ImageBuild) { b.Image = "todo-worker" },
	} {
		b := testBuild()
		change(&b)
		if _, err := b.Predicate("x"); err == nil {
			t.Errorf("%s: recorded", name)
		}
	}
	predicate, _ := testBuild().Predicate("x")
	other := strings.Replace(string(predicate), ProvenanceBuildType, "https://example.com/other/v1", 1)
	if _, _, err := ParseProvenance(other); err == nil || !strings.Contains(err.Error(), "build type") {
		t.Errorf("another build type: %v", err)
	}
	if _, _, err := ParseProvenance(`{"predicateType":"https://cyclonedx.org/bom","predicate":{}}`); err == nil {
		t.Error("an SBOM was taken for a provenance")
	}
}

func TestParseEpoch(t *testing.T) {
	if got, err := ParseEpoch("1764504000\n"); err != nil || got != 1764504000 {
		t.Errorf("ParseEpoch = %d, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-1", "yesterday"} {
		if _, err := ParseEpoch(bad); err == nil {
			t.Errorf("ParseEpoch(%q) succeeded", bad)
		}
	}
}

func TestFinalBaseArg(t *testing.T) {
	for dockerfile, want := range map[string]string{
		"ARG GO_IMAGE=golang\nARG RUNTIME_IMAGE=distroless\nFROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build\nRUN go build\nFROM ${RUNTIME_IMAGE}\nCOPY --from=build /out/server /server\n": "RUNTIME_IMAGE",
		"ARG NODE_IMAGE=node\nFROM ${NODE_IMAGE} AS deps\nFROM ${NODE_IMAGE} AS build\nFROM ${NODE_IMAGE} AS runner\nUSER nextjs\n":                                                            "NODE_IMAGE",
		"FROM golang AS build\nFROM ${RUNTIME_IMAGE}\nFROM scratch\n":                                                                                                                          "",
	} {
		got, err := FinalBaseArg(dockerfile)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("FinalBaseArg(%q) = %q, %v; want %q", dockerfile, got, err, want)
		}
	}
	for _, file := range []string{"../../backend/Dockerfile", "../../frontend/Dockerfile"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		arg, err := FinalBaseArg(string(b))
		if err != nil || BaseImageArgs(string(b))[arg] == "" {
			t.Errorf("%s: the final stage's base %q (%v) is no base image argument", file, arg, err)
		}
	}
}
