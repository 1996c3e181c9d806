"""Launch the LLaQo piano coach chat in the browser.

python LLaQo-chat.py                      # LLaQo when ckpts/ holds the weights, else the Lite coach
python LLaQo-chat.py --backend lite --port 7860
python LLaQo-chat.py --host 0.0.0.0 --batch-size 8 --batch-wait 0.2   # a classroom: 8 answers per decoding step
python LLaQo-chat.py --ckpts /data/llaqo  # the weights in another folder, laid out as ckpts/
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from llaqo.launch import main  # noqa: E402

if __name__ == "__main__":
    main()
