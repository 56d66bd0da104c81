// Documents to start from: each leaves the cursor where a symbol is wanted.
export interface Example {
  name: string;
  text: string;
}

export const EXAMPLES: Example[] = [
  {
    name: "Article",
    text: `\\documentclass{article}
\\begin{document}
Let $x  y$.
\\end{document}
`,
  },
  {
    name: "Set theory notes",
    text: `\\documentclass{article}
\\usepackage{amssymb}
\\begin{document}
\\section{Sets}
For all $A, B$: $A \\cup B = B \\cup A$, and $\\emptyset \\subseteq A$.

The natural numbers $\\mathbb{N}$ are \\emph{countable}.
\\end{document}
`,
  },
  {
    name: "Physics exercise",
    text: `\\documentclass{article}
\\begin{document}
\\paragraph{Exercise.} Show that
\\[
  \\nabla \\cdot \\vec{E} = \\frac{\\rho}{\\varepsilon_0}
\\]
\\end{document}
`,
  },
];
