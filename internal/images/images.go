// Package images pushes container images from OCI tarballs (what Dagger's
// Container.asTarball writes, one platform or many) to a registry, and pulls
// them back. The pipeline pushes from a container with it rather than from
// the engine, so that a registry reached through a tunnel (one on the
// caller's machine) works on every engine, as a real one does.
package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options are how a registry is reached, and what to add to the images.
type Options struct {
	Username, Password string // empty: anonymous
	PlainHTTP          bool   // http instead of https
	// Healthcheck, when set, goes into each image's configuration: Dagger
	// v0.19.10's Dockerfile builds drop HEALTHCHECK (dagger/dagger#9515).
	Healthcheck *v1.HealthConfig
}

func (o Options) remote() []remote.Option {
	auth := authn.Anonymous
	if o.Username != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: o.Username, Password: o.Password})
	}
	return []remote.Option{remote.WithAuth(auth)}
}

func (o Options) reference(ref string) (name.Reference, error) {
	var opts []name.Option
	if o.PlainHTTP {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", ref, err)
	}
	return r, nil
}

// Push uploads the image of an OCI tarball under repository:tag for each tag
// and returns repository:tag@digest for each. A tarball of several platforms
// is pushed as one index.
func Push(tarball, repository string, tags []string, o Options) ([]string, error) {
	if len(tags) == 0 {
		return nil, errors.New("push: no tag given")
	}
	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := untar(tarball, dir); err != nil {
		return nil, fmt.Errorf("push %s: %w", tarball, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("push %s: not an OCI layout: %w", tarball, err)
	}
	write, digest, err := pushable(idx, o.Healthcheck)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", tarball, err)
	}
	var refs []string
	for _, tag := range tags {
		ref, err := o.reference(repository + ":" + tag)
		if err != nil {
			return nil, err
		}
		if err := write(ref, o.remote()...); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
		refs = append(refs, repository+":"+tag+"@"+digest.String())
	}
	return refs, nil
}

// pushable is what a layout holds, its health check set: its one image, or
// an index of its platforms, with the digest it will have in the registry.
func pushable(idx v1.ImageIndex, healthcheck *v1.HealthConfig) (func(name.Reference, ...remote.Option) error, v1.Hash, error) {
	var adds []mutate.IndexAddendum
	if err := collect(idx, healthcheck, &adds, 0); err != nil {
		return nil, v1.Hash{}, err
	}
	if len(adds) == 0 {
		return nil, v1.Hash{}, errors.New("the layout holds no image")
	}
	if len(adds) == 1 {
		img := adds[0].Add.(v1.Image)
		digest, err := img.Digest()
		return func(r name.Reference, o ...remote.Option) error { return remote.Write(r, img, o...) }, digest, err
	}
	index := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	digest, err := index.Digest()
	return func(r name.Reference, o ...remote.Option) error { return remote.WriteIndex(r, index, o...) }, digest, err
}

// collect gathers the images of an index, through nested indexes, with their platforms.
func collect(idx v1.ImageIndex, healthcheck *v1.HealthConfig, adds *[]mutate.IndexAddendum, depth int) error {
	if depth > 3 {
		return errors.New("indexes nested too deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			nested, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := collect(nested, healthcheck, adds, depth+1); err != nil {
				return err
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if healthcheck != nil {
			cfg, err := img.ConfigFile()
			if err != nil {
				return err
			}
			cfg = cfg.DeepCopy()
			cfg.Config.Healthcheck = healthcheck
			if img, err = mutate.ConfigFile(img, cfg); err != nil {
				return err
			}
		}
		*adds = append(*adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	return nil
}

// Pull fetches ref (tag or digest) for the platform (e.g. linux/amd64) and
// writes it as an OCI tarball, with the digest the registry serves.
func Pull(ref, platform, tarball string, o Options) (v1.Hash, error) {
	r, err := o.reference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := remote.Get(r, append(o.remote(), remote.WithPlatform(*p))...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := lp.AppendImage(img); err != nil {
		return v1.Hash{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return desc.Digest, tarDir(dir, tarball)
}

// untar unpacks a tarball's regular files and folders into dir, refusing
// paths that leave it.
func untar(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// tarDir packs dir's files into a tarball.
func tarDir(dir, tarball string) error {
	f, err := os.Create(tarball)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
