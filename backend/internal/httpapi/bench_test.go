package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkListTasks measures GET /api/tasks for a user with 100 tasks on
// PostgreSQL, through the full middleware chain and token verification.
func BenchmarkListTasks(b *testing.B) {
	a := newAPI(b, pgURL(b), defaults())
	for i := range 100 {
		a.createTask("bench", fmt.Sprintf("task %d", i))
	}
	tok, _ := issuer.Token("bench", time.Hour)
	srv := a.handler
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/api/tasks", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
