package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Reproduce builds published images again from what their provenance
// records (the commit, its time, the version, the platforms, the base images
// by digest) and compares them with what the registry serves: the same
// digest, or what differs, from the platform down to the file (manifest,
// configuration field, layer, file content, mode, owner, time). Each image's
// provenance is verified first, as verify does. A chart (oci://…) is packaged
// again from the same commit and compared too. Run it from a checkout of the
// commit the provenance names: the recipe (Dockerfiles, this module, the
// deploy tool) is part of what is reproduced. Fails on any difference. A
// private registry's credentials come through with-registry-auth.
// +cache="never"
func (m *TodoApp) Reproduce(
	ctx context.Context,
	// What publish published: images (repository@sha256:…) and the chart (oci://…).
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
	// The git repository, checked out at the commit the provenance names.
	// +defaultPath="/"
	git *dagger.GitRepository,
) (string, error) {
	if len(refs) == 0 {
		return "", errors.New("give the references to reproduce")
	}
	v, err := m.newVerification(ctx, refs[0], cosignPublicKey, repository, registryService)
	if err != nil {
		return "", err
	}
	engine, err := dag.Version(ctx)
	if err != nil {
		return "", err
	}
	var report strings.Builder
	var images, charts []string
	var builds []pipeline.ImageBuild
	for _, ref := range refs {
		if strings.HasPrefix(ref, "oci://") {
			charts = append(charts, ref)
			continue
		}
		step, err := v.verifier.ProvenanceStep(v.access.route.Internal(ref))
		if err != nil {
			return "", err
		}
		out, err := v.cosign.WithExec(step.Args, dagger.ContainerWithExecOpts{UseEntrypoint: true}).Stdout(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", step.Name, describe(err))
		}
		b, builder, err := pipeline.ParseProvenance(out)
		if err != nil {
			return "", fmt.Errorf("%s: %w", ref, err)
		}
		if name := pipeline.RepositoryName(ref); name != b.Image {
			return "", fmt.Errorf("%s: its provenance is that of %s", ref, b.Image)
		}
		fmt.Fprintf(&report, "%s: provenance verified; built by %s from %s@%s (SOURCE_DATE_EPOCH=%d), version %s, %s\n",
			ref, builder, b.Repository, b.Commit, b.SourceDateEpoch, b.Version, strings.Join(b.Platforms, ","))
		if !strings.Contains(builder, "@"+engine+" ") {
			fmt.Fprintf(&report, "  note: this engine is %s; another engine may build other bytes\n", engine)
		}
		images, builds = append(images, ref), append(builds, b)
	}
	if len(builds) == 0 {
		return "", errors.New("give the images too: the chart is packaged again from the commit their provenance names")
	}
	r, err := releaseFromProvenance(ctx, git.Head(), builds)
	if err != nil {
		return "", err
	}
	differ := m.pusher(v.access)
	var failed []string
	compare := func(ref string, artifact *dagger.File, command string) error {
		internal := v.access.route.Internal(ref)
		diff := differ.WithFile("/work/artifact", artifact).
			WithExec(append([]string{"todoctl", command, "--package", "artifact", "--ref", internal}, v.access.route.Flags()...),
				dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
		code, err := diff.ExitCode(ctx)
		if err != nil {
			return err
		}
		out, err := diff.Stdout(ctx)
		if err != nil {
			return err
		}
		// Told under the address the user gave, not the one the container reached.
		out = strings.ReplaceAll(out, internal, ref)
		if code != 0 {
			stderr, _ := diff.Stderr(ctx)
			failed = append(failed, ref)
			fmt.Fprintf(&report, "NOT REPRODUCED %s\n%s%s\n", ref, out, strings.ReplaceAll(strings.TrimSpace(stderr), internal, ref))
			return nil
		}
		fmt.Fprintf(&report, "reproduced %s", strings.TrimPrefix(out, "identical to "))
		return nil
	}
	for i, b := range builds {
		tarball, digest, err := r.image(ctx, m, b, b.Platforms)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&report, "rebuilt %s: %s\n", b.Image, digest)
		if err := compare(images[i], tarball, "diff-image"); err != nil {
			return "", err
		}
	}
	if len(charts) > 0 {
		chart, err := r.chart(ctx, m)
		if err != nil {
			return "", err
		}
		for _, ref := range charts {
			if err := compare(ref, chart, "diff-chart"); err != nil {
				return "", err
			}
		}
	}
	if len(failed) > 0 {
		return "", fmt.Errorf("%s%d of %d not reproduced: %s", report.String(), len(failed), len(refs), strings.Join(failed, ", "))
	}
	return report.String(), nil
}
