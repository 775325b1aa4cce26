"""HomeTwin: a desktop simulator of on-device AI ecosystems.

python main.py                      open the GUI
python main.py run SCENARIO         run headless, print a summary, write summary.json + trace
python main.py list                 list the shipped scenarios
python main.py estimate ...         cost of any model on any device
python main.py models | compress | recommend   the model lab (see --help)
python main.py train [all|health|zoo|MODEL]   retrain models, rewrite artifacts and cards
"""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
