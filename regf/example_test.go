package regf

import (
	"bytes"
	"fmt"
)

// Example reads the drive letters a Windows installation assigned, from
// the MountedDevices key of its SYSTEM hive (here one built by the test,
// holding the value of a GPT partition for C:).
func Example() {
	file := hiveWithMountedDevices() // the bytes of Windows/System32/config/SYSTEM
	h, err := NewHive(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		fmt.Println(err)
		return
	}
	k, err := h.Key("MountedDevices")
	if err != nil {
		fmt.Println(err)
		return
	}
	vals, _ := k.Values()
	for _, v := range vals {
		fmt.Printf("%s: %q\n", v.Name, v.Data[:8])
	}
	// Output: \DosDevices\C:: "DMIO:ID:"
}
