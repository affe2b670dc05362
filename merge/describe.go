package merge

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Description is a plan in a form for --json and for people.
type Description struct {
	VM         string     `json:"vm"`
	Checkpoint string     `json:"checkpoint"`
	Subtree    bool       `json:"subtree"`
	Steps      []StepDesc `json:"steps"`
	Changed    []string   `json:"changed"`
	Removed    []string   `json:"removed"`
	CopyBytes  int64      `json:"copy_bytes"`
	Notes      []string   `json:"notes"`
}

// StepDesc is one step of a Description.
type StepDesc struct {
	Disk      string `json:"disk"`
	Action    string `json:"action"` // "fold" or "delete"
	Remove    string `json:"remove"`
	Into      string `json:"into,omitempty"`
	NewParent string `json:"new_parent,omitempty"`
	CopyBytes int64  `json:"copy_bytes"`
	// Direction is "into_child" (the checkpoint's disk is folded into
	// its child) or "into_parent" (the child is folded into the
	// checkpoint's disk, which then replaces the child's file).
	Direction   string `json:"direction,omitempty"`
	FoldBytes   int64  `json:"into_child_bytes,omitempty"`
	AbsorbBytes int64  `json:"into_parent_bytes,omitempty"`
	Why         string `json:"why,omitempty"`
	Resume      bool   `json:"resume"`
}

// Describe returns the plan as text (for --dry-run) and as a struct.
func (p *Plan) Describe() (string, Description) {
	d := Description{VM: p.VM, Checkpoint: p.Checkpoint, Subtree: p.Subtree, Notes: p.Notes,
		Changed: []string{}, Removed: []string{}, Steps: []StepDesc{}}
	var b strings.Builder
	fmt.Fprintf(&b, "Delete checkpoint %q", p.Checkpoint)
	if p.VM != "" {
		fmt.Fprintf(&b, " of VM %q", p.VM)
	}
	b.WriteString(":\n")
	for _, s := range p.Steps {
		sd := StepDesc{Disk: s.Disk, Action: "delete", Remove: s.Remove, CopyBytes: s.CopyBytes, Resume: s.Resume}
		resume := ""
		if s.Resume {
			resume = " (resuming an interrupted merge)"
		}
		if s.Fold {
			sd.Action, sd.Into, sd.NewParent = "fold", s.Into, s.NewParent
			sd.Direction, sd.FoldBytes, sd.AbsorbBytes, sd.Why = "into_child", s.FoldBytes, s.AbsorbBytes, s.Why
			d.Changed = append(d.Changed, s.Into)
			parent := "no parent: it becomes a base disk"
			if s.NewParent != "" {
				parent = "parent " + filepath.Base(s.NewParent)
			}
			why := ""
			if s.Why != "" {
				why = " (" + s.Why + ")"
			}
			rm, into := filepath.Base(s.Remove), filepath.Base(s.Into)
			if s.Absorb {
				sd.Direction = "into_parent"
				fmt.Fprintf(&b, "  %s: fold %s into %s, copying %d bytes%s, then rename %s to %s; %s then has %s%s\n",
					s.Disk, into, rm, s.CopyBytes, why, rm, into, into, parent, resume)
			} else {
				fmt.Fprintf(&b, "  %s: fold %s into %s, copying %d bytes%s; %s then has %s%s\n",
					s.Disk, rm, into, s.CopyBytes, why, into, parent, resume)
			}
		} else {
			fmt.Fprintf(&b, "  %s: delete %s%s\n", s.Disk, filepath.Base(s.Remove), resume)
		}
		d.Removed = append(d.Removed, s.Remove)
		d.CopyBytes += s.CopyBytes
		d.Steps = append(d.Steps, sd)
	}
	fmt.Fprintf(&b, "Files changed: %s\n", list(d.Changed))
	fmt.Fprintf(&b, "Files deleted: %s\n", list(d.Removed))
	fmt.Fprintf(&b, "Bytes to copy: %d\n", d.CopyBytes)
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	return b.String(), d
}

func list(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ", ")
}
