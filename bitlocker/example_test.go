package bitlocker

import (
	"bytes"
	"fmt"
	"testing"
)

// panicTB lets the example use the volume builder of the tests.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                      {}
func (panicTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (panicTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// Unlock a BitLocker volume with a password and read its boot sector.
func Example() {
	// A 4 MiB volume encrypted with AES-XTS-128 (the tests build it the
	// way Windows lays volumes out); any io.ReaderAt will do, such as an
	// *os.File or a partition of a virtual disk.
	img := buildVolume(panicTB{}, volSpec{kind: KindWindows7, method: AESXTS128, sectorSize: 512,
		password: "correct horse", seed: 42}).img

	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Kind, v.Method, "protected by:", v.ProtectorTypes())

	if _, err := v.Unlock(Password("wrong")); err != nil {
		fmt.Println(err)
	}
	r, err := v.Unlock(Password("correct horse"))
	if err != nil {
		fmt.Println(err)
		return
	}
	boot := make([]byte, 512)
	if _, err := r.ReadAt(boot, 0); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("decrypted boot sector says %q\n", boot[3:11])
	// Output:
	// Windows 7+ AES-XTS-128 protected by: password
	// bitlocker: no key fits: the key given does not fit (protectors: password)
	// decrypted boot sector says "NTFS    "
}
