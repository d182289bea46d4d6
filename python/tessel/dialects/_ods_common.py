# The generated op builders import `._ods_common` relative to themselves;
# this re-exports the upstream module so they resolve inside our package.
from mlir.dialects._ods_common import *  # noqa: F401,F403
from mlir.dialects._ods_common import _cext  # noqa: F401
