package guest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/ckptfs/ckptfs/regf"
)

// OSInfo is an operating system installed on a volume: what a backup
// folder's VMs are, at a glance.
type OSInfo struct {
	Volume   *Volume
	Family   string // "windows" or "linux"
	Name     string // "Windows Server 2022 Datacenter", "Ubuntu 22.04.4 LTS"
	Version  string // "10.0.20348.2227"; os-release's VERSION_ID
	Hostname string
}

// DetectOS finds the operating systems installed on vols: Windows by its
// registry (the SOFTWARE hive's CurrentVersion key, the SYSTEM hive's
// computer name), Linux by os-release and /etc/hostname (also inside the
// usual btrfs root subvolumes). Nothing fails for lack of them: a volume
// whose files do not say is left out.
func DetectOS(vols []*Volume) []OSInfo {
	var out []OSInfo
	for _, v := range vols {
		if v.FS == nil || v.IsShadow() {
			continue
		}
		if v.FSType == fsNTFS {
			if info, ok := windowsInfo(v.FS); ok {
				info.Volume = v
				out = append(out, info)
			}
			continue
		}
		if LinksArePOSIX(v.FS) {
			for _, root := range []string{".", "root", "@", "@rootfs"} {
				if info, ok := linuxInfo(v.FS, root); ok {
					info.Volume = v
					out = append(out, info)
					break
				}
			}
		}
	}
	return out
}

// windowsInfo reads the product name, version and computer name of the
// Windows installed on fsys.
func windowsInfo(fsys fs.FS) (OSInfo, bool) {
	h, done, err := openHive(fsys, "Windows/System32/config/SOFTWARE")
	if err != nil {
		return OSInfo{}, false
	}
	defer done()
	k, err := h.Key(`Microsoft\Windows NT\CurrentVersion`)
	if err != nil {
		return OSInfo{}, false
	}
	str := func(name string) string {
		v, err := k.Value(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v.String())
	}
	dword := func(name string) (uint32, bool) {
		v, err := k.Value(name)
		if err != nil || v.Type != regf.TypeDword || len(v.Data) != 4 {
			return 0, false
		}
		return binary.LittleEndian.Uint32(v.Data), true
	}
	info := OSInfo{Family: "windows", Name: str("ProductName")}
	build := str("CurrentBuildNumber")
	if build == "" {
		build = str("CurrentBuild")
	}
	if major, ok := dword("CurrentMajorVersionNumber"); ok {
		minor, _ := dword("CurrentMinorVersionNumber")
		info.Version = fmt.Sprintf("%d.%d.%s", major, minor, build)
	} else if cv := str("CurrentVersion"); cv != "" {
		info.Version = cv + "." + build // before Windows 10: "6.3" and the build
	}
	if ubr, ok := dword("UBR"); ok && info.Version != "" {
		info.Version += "." + strconv.FormatUint(uint64(ubr), 10)
	}
	// Windows 11 kept "Windows 10" in ProductName; its builds start at
	// 22000, and Windows itself shows the right name.
	if n, err := strconv.Atoi(build); err == nil && n >= 22000 && strings.HasPrefix(info.Name, "Windows 10") {
		info.Name = "Windows 11" + strings.TrimPrefix(info.Name, "Windows 10")
	}
	if d := str("DisplayVersion"); d != "" {
		info.Name += " " + d // 22H2
	}
	info.Hostname = computerName(fsys)
	return info, info.Name != ""
}

// computerName reads the computer name from the SYSTEM hive's current
// control set.
func computerName(fsys fs.FS) string {
	h, done, err := openHive(fsys, systemHivePath)
	if err != nil {
		return ""
	}
	defer done()
	set := 1
	if k, err := h.Key("Select"); err == nil {
		if v, err := k.Value("Current"); err == nil && len(v.Data) == 4 {
			set = int(binary.LittleEndian.Uint32(v.Data))
		}
	}
	k, err := h.Key(fmt.Sprintf(`ControlSet%03d\Control\ComputerName\ComputerName`, set))
	if err != nil {
		return ""
	}
	v, err := k.Value("ComputerName")
	if err != nil {
		return ""
	}
	return v.String()
}

// linuxInfo reads os-release and the hostname under root.
func linuxInfo(fsys fs.FS, root string) (OSInfo, bool) {
	var rel []byte
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, err := readSmallFile(fsys, path.Join(root, p)); err == nil {
			rel = b
			break
		}
	}
	if rel == nil {
		return OSInfo{}, false
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(rel))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		fields[k] = v
	}
	info := OSInfo{Family: "linux", Name: fields["PRETTY_NAME"], Version: fields["VERSION_ID"]}
	if info.Name == "" {
		info.Name = strings.TrimSpace(fields["NAME"] + " " + fields["VERSION"])
	}
	if b, err := readSmallFile(fsys, path.Join(root, "etc/hostname")); err == nil {
		info.Hostname = strings.TrimSpace(string(b))
	}
	return info, info.Name != ""
}

// readSmallFile reads a file of at most 64 KiB, following a symbolic link
// or two as the guest would (absolute targets from root of the volume;
// /etc/os-release is often a link to ../usr/lib/os-release).
func readSmallFile(fsys fs.FS, p string) ([]byte, error) {
	for hops := 0; ; hops++ {
		st, err := fs.Lstat(fsys, p)
		if err != nil {
			return nil, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			break
		}
		target, err := fs.ReadLink(fsys, p)
		if err != nil || hops >= 4 {
			return nil, fs.ErrNotExist
		}
		if path.IsAbs(target) {
			p = path.Clean(strings.TrimPrefix(target, "/"))
		} else {
			p = path.Join(path.Dir(p), target)
		}
		if p == "." || strings.HasPrefix(p, "../") || p == ".." {
			return nil, fs.ErrNotExist
		}
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}
