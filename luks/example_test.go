package luks

import (
	"bytes"
	"fmt"
)

// Unlock a LUKS volume with its passphrase and read the start of the
// filesystem inside.
func Example() {
	// A small LUKS1 volume (made by hand here; any io.ReaderAt will do,
	// such as an *os.File or a partition of a virtual disk).
	data := bytes.Repeat([]byte("ext4 would start here. "), 4096)[:64<<10]
	img := buildLUKS1("correct horse", data, 7)

	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Header, v.Cipher, "key slots:", len(v.KeySlots), v.KeySlots[0].KDF)

	if _, err := v.Unlock([]byte("wrong")); err != nil {
		fmt.Println(err)
	}
	r, err := v.Unlock([]byte("correct horse"))
	if err != nil {
		fmt.Println(err)
		return
	}
	b := make([]byte, 22)
	if _, err := r.ReadAt(b, 0); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes: %q\n", r.Size(), b)
	// Output:
	// LUKS1 aes-xts-plain64 key slots: 1 pbkdf2-sha256
	// luks: no passphrase fits (tried 1 passphrase on 1 key slot)
	// 65536 bytes: "ext4 would start here."
}
