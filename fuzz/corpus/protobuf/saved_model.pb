g

serve\

n0Placeholder

n1ReadFile

n2SaveV2'
%

__inference_fn
f0EagerPyFunc 