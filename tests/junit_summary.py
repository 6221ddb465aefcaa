# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Add up pytest JUnit reports into one closing line: "N passed, N failed, N skipped".

Usage: junit_summary.py DIR [STEP-ERROR ...]. Exit 1 when a test failed or errored,
when a step could not run, or when no test ran at all.
"""

from __future__ import (absolute_import, division, print_function)

import glob
import os
import sys
import xml.etree.ElementTree as ET  # our own pytest reports, not untrusted input


def main(argv):
    passed = failed = skipped = 0
    unreadable = []
    for path in sorted(glob.glob(os.path.join(argv[1], '*.xml'))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:  # counted as a failure, not a crash that hides every other line
            unreadable.append('%s: unreadable JUnit report (%s)' % (os.path.basename(path), exc))
            continue
        suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
        p = f = s = 0
        for suite in suites:
            tests = int(suite.get('tests', 0))
            fail = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
            skip = int(suite.get('skipped', 0))
            p, f, s = p + tests - fail - skip, f + fail, s + skip
        print('%-40s %4d passed, %d failed, %d skipped' % (os.path.basename(path)[:-4], p, f, s))
        passed, failed, skipped = passed + p, failed + f, skipped + s
    for err in argv[2:] + unreadable:
        print('step error: %s' % err)
    errors = len(argv) - 2 + len(unreadable)
    print('%d passed, %d failed, %d skipped' % (passed, failed + errors, skipped))
    return 1 if (failed or errors or not passed) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
