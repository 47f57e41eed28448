/// Pickle opcodes, by the byte that encodes them. The cases cover protocols
/// 0-2 (what torch emits) plus the protocol 3-4 framing and string opcodes a
/// newer writer might use. Opcodes that construct arbitrary objects (INST,
/// OBJ, EXT*, NEWOBJ_EX) and the protocol 5 buffer opcodes are named only so
/// that they can be refused with a clear error.
enum Opcode: UInt8 {
    // Stack and memo.
    case mark = 0x28            // (
    case stop = 0x2e            // .
    case pop = 0x30             // 0
    case popMark = 0x31         // 1
    case dup = 0x32             // 2
    case put = 0x70             // p  (decimal index, newline)
    case binPut = 0x71          // q  (u8)
    case longBinPut = 0x72      // r  (u32)
    case memoize = 0x94         // protocol 4
    case get = 0x67             // g  (decimal index, newline)
    case binGet = 0x68          // h  (u8)
    case longBinGet = 0x6a      // j  (u32)
    case proto = 0x80
    case frame = 0x95           // protocol 4: u64 frame length, a hint only

    // Scalars.
    case none = 0x4e            // N
    case newTrue = 0x88
    case newFalse = 0x89
    case int = 0x49             // I  (decimal, newline; "01"/"00" are bools)
    case binInt = 0x4a          // J  (i32)
    case binInt1 = 0x4b         // K  (u8)
    case binInt2 = 0x4d         // M  (u16)
    case long = 0x4c            // L  (decimal with trailing L, newline)
    case long1 = 0x8a           // u8 length, two's complement LE
    case long4 = 0x8b           // i32 length, two's complement LE
    case float = 0x46           // F  (decimal, newline)
    case binFloat = 0x47        // G  (big-endian f64)

    // Strings and bytes.
    case string = 0x53          // S  (quoted repr, newline)
    case binString = 0x54       // T  (i32 length)
    case shortBinString = 0x55  // U  (u8 length)
    case unicode = 0x56         // V  (raw-unicode-escape, newline)
    case binUnicode = 0x58      // X  (u32 length, UTF-8)
    case shortBinUnicode = 0x8c // u8 length, UTF-8
    case binUnicode8 = 0x8d     // u64 length, UTF-8
    case binBytes = 0x42        // B  (u32 length)
    case shortBinBytes = 0x43   // C  (u8 length)
    case binBytes8 = 0x8e       // u64 length

    // Containers.
    case emptyTuple = 0x29      // )
    case tuple = 0x74           // t
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case emptyList = 0x5d       // ]
    case list = 0x6c            // l
    case append = 0x61          // a
    case appends = 0x65         // e
    case emptyDict = 0x7d       // }
    case dict = 0x64            // d
    case setItem = 0x73         // s
    case setItems = 0x75        // u
    case emptySet = 0x8f
    case addItems = 0x90
    case frozenSet = 0x91

    // Names, calls and persistent ids: the dangerous part, all restricted.
    case global = 0x63          // c  (module\nname\n)
    case stackGlobal = 0x93
    case reduce = 0x52          // R
    case build = 0x62           // b
    case newObj = 0x81
    case newObjEx = 0x92
    case inst = 0x69            // i
    case obj = 0x6f             // o
    case ext1 = 0x82
    case ext2 = 0x83
    case ext4 = 0x84
    case persId = 0x50          // P
    case binPersId = 0x51       // Q
    case byteArray8 = 0x96
    case nextBuffer = 0x97
    case readonlyBuffer = 0x98
}
