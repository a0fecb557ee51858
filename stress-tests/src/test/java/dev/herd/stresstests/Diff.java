package dev.herd.stresstests;

import java.util.ArrayList;
import java.util.List;

/** A small line diff for test failure messages (LCS; falls back to the first difference). */
final class Diff {
    private Diff() {}

    private static final int MAX_LINES = 3000;
    private static final int CONTEXT = 3;
    private static final int MAX_OUTPUT_LINES = 120;

    static String unified(String a, String b) {
        List<String> x = lines(a), y = lines(b);
        if ((long) x.size() * y.size() > (long) MAX_LINES * MAX_LINES / 4) {
            int i = 0;
            while (i < x.size() && i < y.size() && x.get(i).equals(y.get(i))) i++;
            return "  (large outputs: " + x.size() + " vs " + y.size() + " lines; first difference at line " + (i + 1) + ")\n"
                    + "-" + (i < x.size() ? show(x.get(i)) : "<end>") + "\n+" + (i < y.size() ? show(y.get(i)) : "<end>");
        }
        int n = x.size(), m = y.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = x.get(i).equals(y.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // Edit script: ' ', '-', '+' per line.
        List<String> ops = new ArrayList<>();
        int i = 0, j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && x.get(i).equals(y.get(j))) {
                ops.add(" " + show(x.get(i)));
                i++;
                j++;
            } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
                ops.add("-" + show(x.get(i++)));
            } else {
                ops.add("+" + show(y.get(j++)));
            }
        }
        // Keep changed lines with CONTEXT lines around them.
        boolean[] keep = new boolean[ops.size()];
        for (int k = 0; k < ops.size(); k++) {
            if (ops.get(k).charAt(0) != ' ') {
                for (int c = Math.max(0, k - CONTEXT); c <= Math.min(ops.size() - 1, k + CONTEXT); c++) keep[c] = true;
            }
        }
        StringBuilder sb = new StringBuilder();
        int printed = 0;
        boolean gap = false;
        for (int k = 0; k < ops.size(); k++) {
            if (!keep[k]) {
                gap = true;
                continue;
            }
            if (gap && !sb.isEmpty()) sb.append("  ...\n");
            gap = false;
            if (++printed > MAX_OUTPUT_LINES) {
                sb.append("  ... (diff truncated)\n");
                break;
            }
            sb.append(ops.get(k)).append('\n');
        }
        if (sb.isEmpty()) sb.append("  (same lines; differs in line endings or a final newline)\n");
        return sb.toString().stripTrailing();
    }

    private static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int k = 0; k < s.length(); k++) {
            if (s.charAt(k) == '\n') {
                out.add(s.substring(start, k));
                start = k + 1;
            }
        }
        if (start < s.length()) out.add(s.substring(start) + "\u2400no newline at end");
        return out;
    }

    /** Makes control characters visible. */
    private static String show(String line) {
        StringBuilder sb = new StringBuilder(line.length());
        for (char c : line.toCharArray()) {
            if (c == '\t') sb.append("\\t");
            else if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }

    static String indent(String text) {
        return text.lines().map(l -> "    | " + l).reduce("", (p, l) -> p + l + "\n");
    }
}
