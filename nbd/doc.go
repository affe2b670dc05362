// Package nbd serves read-only block exports over the Network Block Device
// protocol (the "fixed newstyle" handshake of the NBD project's
// doc/proto.md), so that qemu, nbdcopy, nbdinfo and the kernel's nbd
// client can read a checkpoint's disks without FUSE.
//
// A Server holds named Exports, each an io.ReaderAt with a size and an
// optional allocation map. It negotiates NBD_OPT_GO/INFO with block sizes,
// NBD_OPT_LIST, structured replies, the base:allocation metadata context
// for NBD_CMD_BLOCK_STATUS (holes and zero runs from the map, so sparse
// copies skip them), and optionally TLS, which it then requires before any
// other option. Requests on one connection are served concurrently within
// a bound on the bytes in flight; writes, trims and unknown commands get
// the error the protocol names and the connection goes on.
//
// The package imports nothing else of ckptfs: any io.ReaderAt can be
// served.
package nbd
