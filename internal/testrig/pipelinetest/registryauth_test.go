package pipelinetest

import (
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/todo-app/todo-app/internal/images"
)

// The registry refuses a push and a pull without the credentials, with the
// challenge; with them, the same client pushes and pulls back.
func TestAuthRegistry(t *testing.T) {
	auth := &AuthRegistry{Next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), Username: "selftest", Password: "s3cret-pass"}
	srv := httptest.NewServer(auth)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tar := filepath.Join(t.TempDir(), "image.tar")
	if err := images.WriteTarball(images.Artifact{Image: img}, tar, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	repo := host + "/selftest/image"
	for _, tt := range []struct {
		name string
		opts images.Options
		ok   bool
	}{
		{"anonymous", images.Options{PlainHTTP: true}, false},
		{"wrong password", images.Options{PlainHTTP: true, Username: "selftest", Password: "guess"}, false},
		{"the credentials", images.Options{PlainHTTP: true, Username: "selftest", Password: "s3cret-pass"}, true},
	} {
		_, pushErr := images.Push(tar, repo, []string{"v1"}, tt.opts)
		_, pullErr := images.Pull(repo+":v1", "", filepath.Join(t.TempDir(), "pulled.tar"), tt.opts)
		if (pushErr == nil) != tt.ok || (pullErr == nil) != tt.ok {
			t.Errorf("%s: push %v, pull %v; want success %v", tt.name, pushErr, pullErr, tt.ok)
		}
	}
	if refused, allowed := auth.Counts(); refused == 0 || allowed == 0 {
		t.Errorf("refused %d, allowed %d requests", refused, allowed)
	}
}
