package guest

import "fmt"

// guard runs f and turns a panic into an ErrFormat error.
//
// Why: go-diskfs was written for images its caller built, and some of its
// readers index slices or divide with values taken straight from the disk
// (FAT BPB fields, ISO directory record lengths). A
// damaged or hostile guest filesystem must not bring down a mount that
// serves other volumes, so every call into go-diskfs goes through guard.
// Our own code never relies on recover.
func guard(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: %w", what, &FormatError{What: fmt.Sprintf("go-diskfs panicked: %v", p)})
		}
	}()
	return f()
}
