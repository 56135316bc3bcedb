package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/suzaku-go/suzaku/channel/channeltest"
)

// TestMain fails the tests if goroutines outlive them.
func TestMain(m *testing.M) { channeltest.Main(m) }

// equal fails the test if got and want differ.
func equal[T any](t testing.TB, name string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// mustFail fails the test without an error.
func mustFail(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want one")
	}
}

// errorIs fails the test unless err wraps target.
func errorIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
