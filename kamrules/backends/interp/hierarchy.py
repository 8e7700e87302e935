"""Reporting lines: the effective-dated `reports_to` input (payee_id, manager_id, start_date,
end_date) as a hierarchy, read by `manager_of(payee, day)` and `below(payee, manager, day)`
on both engines (the columnar one calls the same functions on the distinct arguments).
Two lines of one payee on the same day (KR450) and a cycle met walking up (KR451) are
data errors naming the rows of the file."""
from __future__ import annotations

import attrs

HIERARCHY_COLUMNS = ("payee_id", "manager_id", "start_date", "end_date")


class HierarchyError(Exception):
    def __init__(self, code: str, message: str, hint: str):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@attrs.define
class Hierarchy:
    path: str
    lines: dict  # payee id -> [(row number, manager id, start, end)], file order

    @classmethod
    def of(cls, path: str, rows) -> "Hierarchy":
        """rows: (row number, payee_id, manager_id, start_date, end_date) tuples."""
        lines: dict = {}
        for number, payee, manager, start, end in rows:
            lines.setdefault(payee, []).append((number, manager, start, end))
        return cls(path, lines)

    def line(self, payee, day):
        """(row number, manager id) of the payee's reporting line on the day, or None."""
        found = [(n, m) for n, m, s, e in self.lines.get(payee, ())
                 if s <= day and (e is None or day <= e)]
        if len(found) > 1:
            raise HierarchyError(
                "KR450", f"{payee} reports to {len(found)} managers on {day} (rows "
                + ", ".join(str(n) for n, _ in found) + f" of {self.path})",
                "reporting lines of one payee must not overlap: end the old line the day before")
        return found[0] if found else None

    def validate(self) -> None:
        """The whole file, before any use: no payee with two lines on one day (KR450), no cycle
        on any day (KR451: a cycle can only appear on a day a line starts)."""
        for payee, lines in self.lines.items():
            ordered = sorted(lines, key=lambda line: (line[2], line[0]))
            for a, b in zip(ordered, ordered[1:]):
                if a[3] is None or b[2] <= a[3]:
                    first, second = sorted((a[0], b[0]))
                    raise HierarchyError(
                        "KR450", f"{payee} reports to 2 managers on {b[2]} (rows {first} and {second} "
                        f"of {self.path})", "reporting lines of one payee must not overlap: end the old "
                        "line the day before the new one starts")
        for payee, lines in self.lines.items():
            for _, _, start, _ in lines:
                self.chain(payee, start)

    def chain(self, payee, day) -> list:
        """[(row number, manager id), ...] from the payee up to the top on the day."""
        seen, out, cur = [payee], [], payee
        while True:
            found = self.line(cur, day)
            if found is None:
                return out
            number, up = found
            out.append(found)
            if up in seen:
                k = seen.index(up)
                raise HierarchyError(
                    "KR451", f"the reporting lines form a cycle on {day}: " + " -> ".join(map(str, seen[k:] + [up]))
                    + " (rows " + ", ".join(str(n) for n, _ in out[k:]) + f" of {self.path})",
                    "one of these payees must report to someone outside the cycle, or to no one")
            seen.append(up)
            cur = up

    def manager_of(self, payee, day):
        if payee is None or day is None:
            return None
        found = self.line(payee, day)
        return found[1] if found else None

    def below(self, payee, manager, day) -> bool:
        """Does `payee` report to `manager` on the day, directly or through other managers?"""
        if payee is None or manager is None or day is None:
            return False
        return any(up == manager for _, up in self.chain(payee, day))
