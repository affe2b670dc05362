package nbd

// Wire constants of the NBD protocol (doc/proto.md of the NBD project).
// Every integer on the wire is big-endian.
const (
	magicInit        = 0x4e42444d41474943 // "NBDMAGIC"
	magicOption      = 0x49484156454F5054 // "IHAVEOPT"
	magicOptionReply = 0x3e889045565a9
	magicRequest     = 0x25609513
	magicSimple      = 0x67446698
	magicStructured  = 0x668e33ef
)

// Handshake flags (server) and client flags.
const (
	flagFixedNewstyle  = 1 << 0
	flagNoZeroes       = 1 << 1
	flagCFixedNewstyle = 1 << 0
	flagCNoZeroes      = 1 << 1
)

// Transmission flags.
const (
	flagHasFlags     = 1 << 0
	flagReadOnly     = 1 << 1
	flagSendFlush    = 1 << 2
	flagSendDF       = 1 << 7
	flagCanMultiConn = 1 << 8
)

// Options.
const (
	optExportName      = 1
	optAbort           = 2
	optList            = 3
	optStartTLS        = 5
	optInfo            = 6
	optGo              = 7
	optStructuredReply = 8
	optListMetaContext = 9
	optSetMetaContext  = 10
)

// Option reply types.
const (
	repAck         = 1
	repServer      = 2
	repInfo        = 3
	repMetaContext = 4
	repErr         = 1 << 31
	repErrUnsup    = repErr | 1
	repErrPolicy   = repErr | 2
	repErrInvalid  = repErr | 3
	repErrTLSReqd  = repErr | 5
	repErrUnknown  = repErr | 6
	repErrShutdown = repErr | 7
	repErrTooBig   = repErr | 9
)

// Information types of NBD_REP_INFO.
const (
	infoExport      = 0
	infoName        = 1
	infoDescription = 2
	infoBlockSize   = 3
)

// Commands and their flags.
const (
	cmdRead        = 0
	cmdWrite       = 1
	cmdDisc        = 2
	cmdFlush       = 3
	cmdTrim        = 4
	cmdCache       = 5
	cmdWriteZeroes = 6
	cmdBlockStatus = 7

	cmdFlagDF      = 1 << 2
	cmdFlagReqOne  = 1 << 3
	cmdFlagPayload = 1 << 5
)

// Structured reply flags and chunk types.
const (
	replyFlagDone        = 1 << 0
	replyTypeNone        = 0
	replyTypeOffsetData  = 1
	replyTypeOffsetHole  = 2
	replyTypeBlockStatus = 5
	replyTypeError       = 1<<15 | 1
	replyTypeErrorOffset = 1<<15 | 2
)

// Errors sent in replies (the protocol's own numbers, which are Linux's).
const (
	errPerm     = 1
	errIO       = 5
	errNoMem    = 12
	errInval    = 22
	errNoSpc    = 28
	errOverflow = 75
	errNotSup   = 95
	errShutdown = 108
)

// The one metadata context: base:allocation, and its state flags.
const (
	contextBaseAllocation = "base:allocation"
	contextIDAllocation   = 1
	stateHole             = 1 << 0
	stateZero             = 1 << 1
)
