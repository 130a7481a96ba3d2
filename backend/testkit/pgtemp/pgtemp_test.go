package pgtemp

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

// Stop stops a cluster Start made, and leaves alone a server it borrowed
// through TEST_DATABASE_URL (as the pipeline's Go tests run, beside a
// PostgreSQL service and without initdb).
func TestStartCreateDatabaseStop(t *testing.T) {
	borrowed := os.Getenv("TEST_DATABASE_URL") != ""
	c, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("pgx", url)
	var one int
	if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query the new database: %v", err)
	}
	db.Close()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	err = waitConnect(t.Context(), url, 0)
	switch {
	case borrowed && err != nil:
		t.Fatalf("stopping the server of TEST_DATABASE_URL stopped it: %v", err)
	case !borrowed && err == nil:
		t.Fatal("the cluster still answers after Stop")
	}
}

func TestTestDatabaseURLIsUsedWhenSet(t *testing.T) {
	own, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	t.Setenv("TEST_DATABASE_URL", own.URL)
	c, err := Start(t.Context())
	if err != nil || c.URL != own.URL {
		t.Fatalf("Start with TEST_DATABASE_URL = %+v, %v", c, err)
	}
	if err := c.Stop(); err != nil { // not ours to stop: a no-op
		t.Fatal(err)
	}
	if err := waitConnect(t.Context(), own.URL, 0); err != nil {
		t.Fatalf("stopping a borrowed server stopped it: %v", err)
	}
}
