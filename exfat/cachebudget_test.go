//go:build linux

package exfat

import (
	"maps"
	"testing"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// TestListingBudget: the listing cache counts its bytes in the budget it
// opened its account with; under a budget smaller than one walk's listings
// the total passes the limit by at most the listing being added, is back
// under it once the walk ends, and the walk sees exactly what it sees
// without a bound.
func TestListingBudget(t *testing.T) {
	img := fixture(t, "c4k")
	free := ours(t, openFixture(t, img), img)

	b := &membudget.Budget{}
	saved := cacheBudget
	cacheBudget = b
	t.Cleanup(func() { cacheBudget = saved })
	open := openFixture(t, img)
	ours(t, open, img)
	whole := b.Used()
	if whole <= 0 {
		t.Fatalf("a walk counted %d bytes of listings", whole)
	}
	_, largest := b.Peak()

	b2 := &membudget.Budget{}
	limit := whole / 4
	b2.SetLimit(limit)
	cacheBudget = b2
	bounded := ours(t, openFixture(t, img), img)
	if !maps.Equal(free, bounded) {
		t.Error("the walk under a budget saw something else than without one")
	}
	peak, _ := b2.Peak()
	if peak > limit+largest {
		t.Errorf("peak %d bytes under a limit of %d (largest listing %d)", peak, limit, largest)
	}
	if used := b2.Used(); used > limit {
		t.Errorf("%d bytes held after the walk under a limit of %d (%d without one)", used, limit, whole)
	}
	t.Logf("a walk's listings: %d bytes (largest %d); under a %d-byte limit: peak %d, %d at the end", whole, largest, limit, peak, b2.Used())
}
