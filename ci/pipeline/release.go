package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ImageBuild is everything one published image is built from: the commit,
// its time, the version, the platforms and the base images by digest. Its
// provenance records all of it, so that anyone can build the image again
// and compare (reproduce).
type ImageBuild struct {
	Image           string   `json:"image"`      // BackendImage or FrontendImage
	Repository      string   `json:"repository"` // the source repository, e.g. https://github.com/acme/todo-app
	Commit          string   `json:"commit"`
	SourceDateEpoch int64    `json:"sourceDateEpoch"` // the commit's time: what every time in the image is stamped with
	Version         string   `json:"version"`
	Platforms       []string `json:"platforms"`
	// BaseImages are the Dockerfile's base image arguments (GO_IMAGE, …),
	// each pinned by digest (ref@sha256:…).
	BaseImages map[string]string `json:"baseImages"`
}

// ReleaseManifest is a release's release.json: what it was built from, and
// the digest of each image, to compare with another build of it.
type ReleaseManifest struct {
	Commit          string            `json:"commit"`
	SourceDateEpoch int64             `json:"sourceDateEpoch"`
	Images          map[string]string `json:"images"` // name → digest (of the index, with several platforms)
	Chart           string            `json:"chart"`  // the package's file name; its sha256 is in SHA256SUMS
	Builds          []ImageBuild      `json:"builds"`
}

// Epoch is the build's SOURCE_DATE_EPOCH as a time.
func (b ImageBuild) Epoch() time.Time { return time.Unix(b.SourceDateEpoch, 0).UTC() }

// BuildArgs are the Dockerfile's build arguments: VERSION, COMMIT and the base images.
func (b ImageBuild) BuildArgs() map[string]string {
	args := map[string]string{"VERSION": b.Version, "COMMIT": b.Commit}
	maps.Copy(args, b.BaseImages)
	return args
}

// ProvenanceBuildType names this recipe: the build arguments, with base
// images pinned by digest, and every time stamped from SOURCE_DATE_EPOCH.
const ProvenanceBuildType = "https://github.com/todo-app/todo-app/ci/publish/v2"

// ProvenancePredicateType is the SLSA provenance v1 predicate type.
const ProvenancePredicateType = "https://slsa.dev/provenance/v1"

type provenance struct {
	BuildDefinition struct {
		BuildType          string `json:"buildType"`
		ExternalParameters struct {
			Repository      string            `json:"repository"`
			Image           string            `json:"image"`
			Platforms       []string          `json:"platforms"`
			SourceDateEpoch int64             `json:"sourceDateEpoch"`
			BuildArgs       map[string]string `json:"buildArgs"`
		} `json:"externalParameters"`
		ResolvedDependencies []dependency `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
	} `json:"runDetails"`
}

type dependency struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// Predicate is the SLSA v1 provenance predicate of the image, built by builder.
func (b ImageBuild) Predicate(builder string) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	var p provenance
	p.BuildDefinition.BuildType = ProvenanceBuildType
	ep := &p.BuildDefinition.ExternalParameters
	ep.Repository, ep.Image, ep.Platforms, ep.SourceDateEpoch, ep.BuildArgs = b.Repository, b.Image, b.Platforms, b.SourceDateEpoch, b.BuildArgs()
	if ep.Platforms == nil {
		ep.Platforms = []string{}
	}
	deps := []dependency{{"git+" + b.Repository, map[string]string{"gitCommit": b.Commit}}}
	for _, arg := range slices.Sorted(maps.Keys(b.BaseImages)) {
		name, digest, _ := strings.Cut(b.BaseImages[arg], "@sha256:")
		deps = append(deps, dependency{"docker://" + name, map[string]string{"sha256": digest}})
	}
	p.BuildDefinition.ResolvedDependencies = deps
	p.RunDetails.Builder.ID = builder
	return json.MarshalIndent(p, "", "  ")
}

var (
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
	pinned     = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)
)

func (b ImageBuild) validate() error {
	if b.Image != BackendImage && b.Image != FrontendImage {
		return fmt.Errorf("image %q: want %s or %s", b.Image, BackendImage, FrontendImage)
	}
	if !commitHash.MatchString(b.Commit) {
		return fmt.Errorf("commit %q is not a full git commit hash", b.Commit)
	}
	if b.SourceDateEpoch <= 0 {
		return errors.New("no SOURCE_DATE_EPOCH: the commit's time is needed")
	}
	if len(b.BaseImages) == 0 {
		return errors.New("no base image recorded")
	}
	for arg, ref := range b.BaseImages {
		if !pinned.MatchString(ref) {
			return fmt.Errorf("base image %s=%q is not pinned by digest", arg, ref)
		}
	}
	return nil
}

// ParseProvenance reads back the ImageBuild of a provenance: an in-toto
// statement, a DSSE envelope holding one (as cosign verify-attestation
// prints them, one a line), or the predicate alone. It returns the builder too.
func ParseProvenance(data string) (ImageBuild, string, error) {
	data = strings.TrimSpace(data)
	for _, doc := range append([]string{data}, strings.Split(data, "\n")...) {
		var envelope struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
		}
		doc := []byte(doc)
		if json.Unmarshal(doc, &envelope) == nil && envelope.Payload != "" {
			payload, err := base64.StdEncoding.DecodeString(envelope.Payload)
			if err != nil {
				return ImageBuild{}, "", fmt.Errorf("attestation payload: %w", err)
			}
			doc = payload
		}
		var statement struct {
			PredicateType string          `json:"predicateType"`
			Predicate     json.RawMessage `json:"predicate"`
		}
		if json.Unmarshal(doc, &statement) == nil && statement.Predicate != nil {
			if statement.PredicateType != ProvenancePredicateType {
				continue
			}
			doc = statement.Predicate
		}
		var p provenance
		if err := json.Unmarshal(doc, &p); err != nil || p.BuildDefinition.BuildType == "" {
			continue
		}
		if p.BuildDefinition.BuildType != ProvenanceBuildType {
			return ImageBuild{}, "", fmt.Errorf("provenance of build type %s: this module rebuilds %s", p.BuildDefinition.BuildType, ProvenanceBuildType)
		}
		ep := p.BuildDefinition.ExternalParameters
		b := ImageBuild{Image: ep.Image, Repository: ep.Repository, SourceDateEpoch: ep.SourceDateEpoch, Platforms: ep.Platforms,
			Version: ep.BuildArgs["VERSION"], Commit: ep.BuildArgs["COMMIT"], BaseImages: map[string]string{}}
		for arg, value := range ep.BuildArgs {
			if strings.HasSuffix(arg, "_IMAGE") {
				b.BaseImages[arg] = value
			}
		}
		if err := b.validate(); err != nil {
			return ImageBuild{}, "", fmt.Errorf("provenance: %w", err)
		}
		return b, p.RunDetails.Builder.ID, nil
	}
	return ImageBuild{}, "", errors.New("no SLSA provenance found")
}

// BaseImageArgs are the base image arguments a Dockerfile declares with
// their defaults (ARG GO_IMAGE=golang:1.26-alpine, used as FROM ${GO_IMAGE}).
func BaseImageArgs(dockerfile string) map[string]string {
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG ([A-Z_]*IMAGE)=(\S+)$`).FindAllStringSubmatch(dockerfile, -1) {
		args[m[1]] = m[2]
	}
	return args
}

// ParseEpoch reads a SOURCE_DATE_EPOCH (git log --format=%ct prints one).
func ParseEpoch(s string) (int64, error) {
	secs, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || secs <= 0 {
		return 0, fmt.Errorf("commit time %q: want seconds since 1970", strings.TrimSpace(s))
	}
	return secs, nil
}

// RepositoryName is the last part of an image reference's repository:
// todo-backend for ghcr.io/acme/todo-backend@sha256:….
func RepositoryName(ref string) string {
	repo, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo[strings.LastIndex(repo, "/")+1:]
}

var fromLine = regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?\$\{?([A-Z_]+)\}?(?:\s|$)`)

// FinalBaseArg is the base image argument of a Dockerfile's last stage (the
// image's base): RUNTIME_IMAGE for FROM ${RUNTIME_IMAGE}. Its layers are the
// first of the image, and keep their times.
func FinalBaseArg(dockerfile string) (string, error) {
	m := fromLine.FindAllStringSubmatch(dockerfile, -1)
	lastFrom := regexp.MustCompile(`(?m)^FROM\s.*$`).FindAllString(dockerfile, -1)
	if len(m) == 0 || len(lastFrom) == 0 || !strings.Contains(lastFrom[len(lastFrom)-1], m[len(m)-1][1]) {
		return "", errors.New("the Dockerfile's last stage is not FROM ${…_IMAGE}: its base cannot be pinned")
	}
	return m[len(m)-1][1], nil
}
